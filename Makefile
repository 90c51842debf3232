# retrain: the two commands that matter are `go run ./cmd/retrain` and `make test`.
# Everything the targets need is installed into .tools/ at pinned versions.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

TOOLS   := $(CURDIR)/.tools
BIN     := $(TOOLS)/bin
BUF     := $(CURDIR)/tools/npm/node_modules/.bin/buf
export PATH := $(BIN):$(PATH)

# Pinned generator versions: regenerating with these must reproduce the committed code.
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPC_GATEWAY_VERSION       := v2.33.0

MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
GO_TEST_FLAGS ?=

.PHONY: all test deps tools generate check-generated lint fmt-check vet go-test build run bench fuzz soak clean deploy-check

all: test

## test: everything CI checks (gofmt, vet, buf lint, generated code, deploy manifests, race tests).
test: deps fmt-check vet lint check-generated deploy-check go-test

## deps: PostgreSQL's server for the PostgreSQL tests (platform/pgtest starts a throwaway one):
## installed with apt-get on Debian as root when initdb is missing; nothing when it is there.
deps:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || [ -x "$${RETRAIN_PG_BINDIR:-/nonexistent}/initdb" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "deps: installing PostgreSQL's server for the PostgreSQL tests"; \
		export DEBIAN_FRONTEND=noninteractive; apt-get update -qq; \
		apt-get install -y -qq postgresql-15 >/dev/null || apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "deps: WARNING: PostgreSQL's initdb not found and not installable here (needs Debian and root):"; \
		echo "deps: the PostgreSQL tests will be SKIPPED (install postgresql-15, or set RETRAIN_PG_BINDIR)"; \
	fi

## tools: install buf (npm, pinned by tools/npm/package-lock.json) and the protoc plugins.
tools: $(BUF) $(BIN)/protoc-gen-go $(BIN)/protoc-gen-go-grpc $(BIN)/protoc-gen-grpc-gateway $(BIN)/protoc-gen-openapiv2

$(BUF): tools/npm/package.json tools/npm/package-lock.json
	cd tools/npm && npm install --no-audit --no-fund --loglevel=error
	@touch $@

$(BIN)/protoc-gen-go: Makefile
	GOBIN=$(BIN) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(BIN)/protoc-gen-go-grpc: Makefile
	GOBIN=$(BIN) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
$(BIN)/protoc-gen-grpc-gateway: Makefile
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway@$(GRPC_GATEWAY_VERSION)
$(BIN)/protoc-gen-openapiv2: Makefile
	GOBIN=$(BIN) go install github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2@$(GRPC_GATEWAY_VERSION)

## generate: regenerate Go code and the OpenAPI document from proto/.
generate: tools
	$(BUF) generate

## check-generated: fail if regenerating changes any committed file.
check-generated: tools
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BUF) generate -o "$$tmp"; \
	if ! diff -r <(cd "$$tmp/proto" && find . -type f | sort) <(cd proto && find . -type f \( -name '*.pb.go' -o -name '*.pb.gw.go' -o -name '*.swagger.json' \) | sort) >/dev/null; then \
		echo "generated files differ in name from the committed ones: run make generate"; exit 1; fi; \
	for f in $$(cd "$$tmp/proto" && find . -type f); do \
		cmp -s "$$tmp/proto/$$f" "proto/$$f" || { echo "proto/$$f is stale: run make generate and commit"; exit 1; }; \
	done; echo "generated code is up to date"

## lint: buf lint (STANDARD).
lint: $(BUF)
	$(BUF) lint

fmt-check:
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet work

go-test:
	go test -race -count=1 $(GO_TEST_FLAGS) work

## build: static binaries in bin/: the all-in-one retrain and every services/*/cmd/* and
## gateway/cmd/*. deploy/Dockerfile runs this same target (BINARIES narrows the set).
BINARIES ?= ./cmd/retrain $(patsubst %/,./%,$(wildcard services/*/cmd/*/ gateway/cmd/*/))
BUILD_DIR ?= bin
build:
	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o $(BUILD_DIR)/ $(BINARIES)

run:
	go run ./cmd/retrain

## bench: load the all-in-one binary and the baselines; prints a table, writes docs/benchmarks.md.
BENCH_FLAGS ?=
bench:
	go run ./bench/cmd/bench $(BENCH_FLAGS)

## soak: the reliability tests at full length (held load for minutes, 200 crash restarts).
soak:
	RETRAIN_SOAK=1 go test -count=1 -timeout 90m -v ./bench/reliability/

## fuzz: run every native fuzz target for FUZZTIME each (crashers land in testdata/fuzz).
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	FuzzParse:./platform/civil \
	FuzzParse:./platform/postcode \
	FuzzEvaluate:./services/eligibility/internal/rules \
	FuzzImportCSV:./services/courses/internal/catalog \
	FuzzEventBatch:./services/outreach/internal/grpcapi
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		name=$${t%%:*}; pkg=$${t#*:}; \
		echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## deploy-check: kustomize build of every deploy/k8s overlay, validated offline against
## Kubernetes JSON schemas generated from k8s.io/api (tools and schemas cached in .tools/).
deploy-check:
	deploy/check.sh

clean:
	rm -rf bin .tools tools/npm/node_modules
