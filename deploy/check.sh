#!/usr/bin/env bash
# deploy-check: every kustomize overlay builds, and what it builds is valid Kubernetes,
# checked offline against JSON schemas generated here from the Kubernetes API's Go types.
#
# Tools (pinned) go to .tools/bin, schemas to .tools/k8s-schemas; both are reused on the
# next run. Needs only Go and the Go module proxy (or a warm module cache).
set -euo pipefail
cd "$(dirname "$0")/.."

KUSTOMIZE_VERSION=v5.8.2
KUBECONFORM_VERSION=v0.8.0
# The Kubernetes API the schemas describe (k8s.io/api v0.X.Y is Kubernetes 1.X.Y), and the
# kube-openapi that k8s.io/apimachinery of that release requires. Kept in step with
# deploy/schemagen/go.mod.
K8S_API_VERSION=v0.37.2

ROOT=$(pwd)
BIN=$ROOT/.tools/bin
SCHEMAS=$ROOT/.tools/k8s-schemas/$K8S_API_VERSION
mkdir -p "$BIN"
export GOWORK=off # the tools and the schema generator are not part of the workspace

# install NAME VERSION PACKAGE: go install PACKAGE@VERSION into .tools/bin once.
install() {
	local name=$1 version=$2 pkg=$3
	if [ -x "$BIN/$name" ] && [ -f "$BIN/.$name-$version" ]; then return; fi
	echo "deploy-check: installing $name $version"
	GOBIN=$BIN go install "$pkg@$version"
	rm -f "$BIN/.$name-"*
	touch "$BIN/.$name-$version"
}
install kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5
install kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform

if [ ! -f "$SCHEMAS/.complete" ]; then
	echo "deploy-check: generating Kubernetes $K8S_API_VERSION JSON schemas from k8s.io/api"
	work=$ROOT/.tools/schemagen-work
	rm -rf "$work" "$SCHEMAS"
	mkdir -p "$work"
	cp deploy/schemagen/go.mod deploy/schemagen/go.sum deploy/schemagen/main.go deploy/schemagen/hdr.txt "$work/"
	(
		cd "$work"
		# kube-openapi's generator, the one the API server's own OpenAPI document comes from.
		go tool openapi-gen \
			--output-dir openapi \
			--output-pkg github.com/nrs-pilots/retrain/deploy/schemagen/openapi \
			--output-file zz_generated.openapi.go \
			--go-header-file hdr.txt \
			--report-filename /dev/null \
			k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/autoscaling/v2 k8s.io/api/policy/v1 k8s.io/api/networking/v1 \
			k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/api/resource \
			k8s.io/apimachinery/pkg/util/intstr k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/version
		go run . -out "$SCHEMAS"
	)
	rm -rf "$work"
	touch "$SCHEMAS/.complete"
fi

# The image's build step, run here the same way (deploy/Dockerfile runs `make build`).
build_out=$(mktemp -d)
trap 'rm -rf "$build_out"' EXIT
echo "deploy-check: make build (static binaries, as in deploy/Dockerfile)"
GOWORK= make --no-print-directory -s build BUILD_DIR="$build_out/" >/dev/null
echo "deploy-check: built $(cd "$build_out" && echo *)"

validate() {
	"$BIN/kubeconform" -strict -summary \
		-schema-location "$SCHEMAS/{{ .ResourceKind }}{{ .KindSuffix }}.json" "$@"
}

# The validator must be able to fail: a Deployment with a misspelt field and a wrong type.
if validate - >/dev/null 2>&1 <<'EOF'; then
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  replicas: "two"
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers: [{name: x, image: x, readinessProbe: {grpc: {prot: 9090}}}]
EOF
	echo "deploy-check: the validator accepted a broken Deployment; its schemas are wrong" >&2
	exit 1
fi

status=0
for overlay in deploy/k8s/overlays/*/; do
	name=$(basename "$overlay")
	out=$(mktemp)
	if ! "$BIN/kustomize" build "$overlay" >"$out"; then
		echo "deploy-check: kustomize build $overlay failed" >&2
		status=1
		rm -f "$out"
		continue
	fi
	kinds=$(grep -E '^kind: ' "$out" | sort | uniq -c | awk '{printf "%s %s, ", $1, $3}')
	echo "deploy-check: $name: ${kinds%, }"
	for required in Deployment Service HorizontalPodAutoscaler PodDisruptionBudget NetworkPolicy ConfigMap; do
		grep -qE "^kind: $required\$" "$out" || { echo "deploy-check: $name has no $required" >&2; status=1; }
	done
	echo -n "deploy-check: $name: "
	validate - <"$out" || status=1
	rm -f "$out"
done
exit $status
