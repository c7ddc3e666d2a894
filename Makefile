# Node Community — the targets a newcomer needs.
GO       ?= go
BIN      := bin/server
HTTP_ADDR ?= 127.0.0.1:8080

.PHONY: run build test test-faults cluster generate lint bench bench-load fuzz sbom clean

## run: build and serve one instance with embedded NATS, a private PostgreSQL
## under .data/ (unless DATABASE_URL is set) and a demo organisation.
run: build
	SEED_DEMO=$${SEED_DEMO:-true} REGISTRATION=$${REGISTRATION:-open} HTTP_ADDR=$(HTTP_ADDR) ./$(BIN)

build:
	$(GO) build -o $(BIN) ./cmd/server

## test: the whole suite, on a private PostgreSQL unless TEST_DATABASE_URL is set.
test:
	$(GO) run ./cmd/devdb -env TEST_DATABASE_URL -- $(GO) test -race -count=1 -timeout 30m ./...

## test-faults: the fault-test harness: a private PostgreSQL behind a proxy, three instances as
## processes, 50 clients posting 1,000 shares at 20/s while an instance is killed and restarted and
## PostgreSQL is cut off and restarted; fails on any lost or duplicated share or event (~2 min).
test-faults:
	$(GO) run ./cmd/faults $(FAULTS_FLAGS)

## cluster: three instances (8081-8083) forming one NATS cluster over one PostgreSQL.
cluster: build
	$(GO) run ./cmd/devdb -dir .data/cluster-postgres -fsync -env DATABASE_URL -- ./scripts/cluster.sh

## bench: graph kernels on a 10,000-node / 200,000-tie graph and on the real organisation,
## then the standard load scenario (bench-load).
bench:
	$(GO) run ./cmd/graphbench -nodes 10000 -edges 200000 -runs 5
	$(GO) run ./cmd/graphbench -in internal/demo/data/email-Eu-core.txt -runs 5
	$(GO) test -run '^$$' -bench . -benchtime 3x ./internal/graph
	$(MAKE) bench-load

## bench-load: the standard load scenario (scripts/bench.sh; README "Performance"): three instances
## over a durable private PostgreSQL under .data/bench-postgres; pgbench's durable single-row insert,
## 3,000 SSE clients at 100 shares/s into communities of 50-300, the same over raw NATS, the write
## path on one instance as a ratio of pgbench, the dashboard at 200 requests/s, 10,000 idle streams.
## BENCH_* variables shorten it.
bench-load: build
	$(GO) build -o bin/loadgen ./cmd/loadgen
	$(GO) run ./cmd/devdb -dir .data/bench-postgres -fsync -env DATABASE_URL -- ./scripts/bench.sh

## fuzz: every fuzz target (share parser, CSV import, query filters, Last-Event-ID …) for
## FUZZTIME each (default 60s), one after another; their seeds already run in `make test`.
FUZZTIME ?= 60s
fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) $(GO) run ./cmd/devdb -env TEST_DATABASE_URL -- ./scripts/fuzz.sh

## generate: regenerate the templ components (the generated files are committed).
generate:
	$(GO) tool templ generate

## sbom: a CycloneDX 1.5 bill of materials of the built binary (Go modules, vendored htmx).
sbom: build
	./$(BIN) sbom > bin/sbom.cdx.json

lint:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

clean:
	rm -rf bin
