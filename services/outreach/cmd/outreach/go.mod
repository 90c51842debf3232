module github.com/nrs-pilots/retrain/services/outreach/cmd/outreach

go 1.26.0

replace github.com/nrs-pilots/retrain/cmd/retrain => ../../../../cmd/retrain

replace github.com/nrs-pilots/retrain/proto => ../../../../proto

replace github.com/nrs-pilots/retrain/platform => ../../../../platform

replace github.com/nrs-pilots/retrain/gateway => ../../../../gateway

replace github.com/nrs-pilots/retrain/services/eligibility => ../../../eligibility

replace github.com/nrs-pilots/retrain/services/courses => ../../../courses

replace github.com/nrs-pilots/retrain/services/outreach => ../..

require github.com/nrs-pilots/retrain/cmd/retrain v0.0.0-00010101000000-000000000000

require (
	github.com/beorn7/perks v1.0.1 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/go-jose/go-jose/v4 v4.1.9 // indirect
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.33.0 // indirect
	github.com/jackc/pgpassfile v1.0.0 // indirect
	github.com/jackc/pgservicefile v0.0.0-20240606120523-5a60cdf6a761 // indirect
	github.com/jackc/pgx/v5 v5.12.0 // indirect
	github.com/jackc/puddle/v2 v2.2.3 // indirect
	github.com/munnerz/goautoneg v0.0.0-20191010083416-a7dc8b61c822 // indirect
	github.com/nrs-pilots/retrain/gateway v0.0.0-00010101000000-000000000000 // indirect
	github.com/nrs-pilots/retrain/platform v0.0.0-00010101000000-000000000000 // indirect
	github.com/nrs-pilots/retrain/proto v0.0.0-00010101000000-000000000000 // indirect
	github.com/nrs-pilots/retrain/services/courses v0.0.0-00010101000000-000000000000 // indirect
	github.com/nrs-pilots/retrain/services/eligibility v0.0.0-00010101000000-000000000000 // indirect
	github.com/nrs-pilots/retrain/services/outreach v0.0.0-00010101000000-000000000000 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/prometheus/client_model v0.6.3 // indirect
	github.com/prometheus/common v0.72.0 // indirect
	github.com/prometheus/procfs v0.22.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	go.uber.org/multierr v1.10.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	golang.org/x/time v0.16.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261104224025-d1e00e9f33ab // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
