# RepoTrackr GitHub integration. `make test` and `make dev` work on a fresh clone:
# they install what they need (npm stand-ins from the lock file, Go tools from go.mod).
SHELL := /bin/bash
FUNCTIONS := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))
STANDIN := pkg/local/standin
GOTEST_FLAGS ?= -race -count=1 -timeout 15m
# SAM's build-<LogicalId> targets build for Lambda's Graviton runtime.
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags='-s -w'
# apt-get needs root: sudo unless make already runs as root.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: all deps build test test-short fuzz fuzz-smoke lint lint-template fmt bench bench-candidates bench-path dev dev-reset demo invoke soak status-page clean FORCE

all: lint test

## deps: install the local stand-ins (dynalite, fauxqs, Node.js 22) from the lock file
deps: $(STANDIN)/node_modules/.installed

$(STANDIN)/node_modules/.installed: $(STANDIN)/package.json $(STANDIN)/package-lock.json
	@echo "==> installing local stand-ins (npm ci in $(STANDIN))"
	cd $(STANDIN) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## build: host binaries bin/<function>/bootstrap for every function
build: $(FUNCTIONS:%=bin/%/bootstrap)

bin/%/bootstrap: FORCE
	CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -o $@ ./functions/$*

## test: the whole suite, offline, with the stand-ins it needs, then a short run of every fuzz target
test: deps
	go test $(GOTEST_FLAGS) ./...
	@$(MAKE) --no-print-directory fuzz-smoke

# Every fuzz target is found in the sources (func FuzzX in a _test.go file under pkg/), so
# a new one is fuzzed without being listed; go test -fuzz takes one package and one target.
FUZZTIME ?= 1m
# The smoke run counts executions, not seconds: with a duration, Go 1.26's fuzzing
# coordinator can fail a target with "context deadline exceeded" as the time runs out
# (go.dev/issue/75804, fixed in Go 1.27), a failure with no input behind it. 5,000
# executions take 1–5 s a target here. The same failure in a timed `make fuzz`, with no
# file written to testdata/fuzz, is that race and not a finding.
FUZZ_SMOKE_TIME ?= 5000x

## fuzz: every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m); failures land in testdata/fuzz
fuzz:
	@set -eo pipefail; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' pkg | sort); do \
	  for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
	    echo "==> $$fn (./$$(dirname $$f)) for $(FUZZTIME)"; \
	    go test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) ./$$(dirname $$f); \
	  done; \
	done

## fuzz-smoke: every fuzz target for FUZZ_SMOKE_TIME executions (a few seconds), as make test runs them
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_SMOKE_TIME)

## test-short: the pure tests only, skipping those that need the stand-ins: no Node, no network
test-short:
	go test -short -count=1 ./...

## lint: gofmt, go vet, staticcheck, go mod tidy unchanged, cfn-lint (informational checks on) on template.yaml and its SAM transform
lint: lint-template
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$fmt" ]; then echo "gofmt would change:"; echo "$$fmt"; exit 1; fi
	go vet ./...
	go tool staticcheck ./...
	go mod tidy -diff

# cfn-lint skips some rules (W2001, an unused parameter) on a template with a Transform,
# so the SAM-transformed template is linted as well.
lint-template:
	@command -v cfn-lint >/dev/null 2>&1 || { echo "make lint: cfn-lint not found (pip install cfn-lint aws-sam-translator)"; exit 1; }
	@python3 -c 'import samtranslator' 2>/dev/null || { echo "make lint: python3 with aws-sam-translator not found (pip install aws-sam-translator)"; exit 1; }
	cfn-lint --include-checks I --non-zero-exit-code informational -- template.yaml
	@mkdir -p bin
	python3 pkg/local/samtemplate/sam-transform.py template.yaml > bin/template.transformed.json
	cfn-lint --include-checks I --non-zero-exit-code informational -- bin/template.transformed.json

fmt:
	gofmt -w $$(git ls-files '*.go')

## bench: one side-by-side table: ingest vs floor vs go-github, cold start vs a minimal function, requests per delivery (pkg/ingest/README.md)
bench: deps
	go run ./pkg/local/cmd/benchtable -count 9 -benchtime 300ms -coldstart 9

## bench-candidates: the JSON libraries issue 13 names, side by side with the envelope builder (table in pkg/ingest/README.md)
bench-candidates:
	GOEXPERIMENT=jsonv2 go test -run '^$$' -bench '^BenchmarkCandidates$$' -benchmem ./pkg/envelope

## bench-path: the rest of the path: requests per delivery kind, each bootstrap's size and cold start against a minimal function
bench-path: deps
	@go test -count=1 -run '^TestRequestsPerDelivery$$' -v ./pkg/processor | grep -E 'DynamoDB|capacity' | sed 's/^ *requests_test.go:[0-9]*: //'
	@mkdir -p bin/size
	@for f in $(FUNCTIONS) minimal; do src=./functions/$$f; if [ $$f = minimal ]; then src=./pkg/local/coldstart/minimal; fi; \
	  $(LAMBDA_ENV) go build $(LAMBDA_FLAGS) -o bin/size/$$f $$src || exit 1; \
	  printf '%-10s %12d bytes (linux/arm64, -s -w)\n' $$f $$(stat -c %s bin/size/$$f); done
	go test -run '^$$' -bench ColdStart -benchtime 10x ./pkg/local/coldstart

## dev: the whole pipeline on this machine, offline: HTTP API on http://127.0.0.1:3000
dev: deps build
	go run ./pkg/local/cmd/devstack up

## dev-reset: wipe the local stack's data
dev-reset:
	rm -rf .devstack

## demo: with `make dev` running, register the demo project and tick tasks in its plan (the sandbox sends the push)
demo:
	go run ./pkg/local/cmd/devstack demo

## invoke: one function, one event, as `sam local invoke` would (FN=ingest EVENT=events/ingest/push.json)
invoke: deps build
	@test -n "$(FN)" -a -n "$(EVENT)" || { echo "usage: make invoke FN=<function> EVENT=events/<file>.json"; exit 2; }
	go run ./pkg/local/cmd/devstack invoke -fn $(FN) -event $(EVENT)

## soak: thousands of sandbox deliveries through a fresh local stack under faults, then the invariants (pkg/local/soak/README.md); flags: make soak SOAK_FLAGS=-deliveries=10000
SOAK_FLAGS ?=
soak: deps
	go run ./pkg/local/cmd/soak $(SOAK_FLAGS)

## status-page: the status page with sample data, screenshot by a headless Chromium: bin/status-page.png
status-page:
	@command -v chromium >/dev/null 2>&1 || { echo "==> installing chromium (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }
	go run ./pkg/local/cmd/statuspage -out bin/status-page.png

clean:
	rm -rf bin .aws-sam

# ---- SAM (BuildMethod: makefile): sam build runs build-<LogicalId> with ARTIFACTS_DIR set.
build-IngestFunction:
	$(LAMBDA_ENV) go build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/ingest
build-ProcessorFunction:
	$(LAMBDA_ENV) go build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/processor
build-ApiFunction:
	$(LAMBDA_ENV) go build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api
build-RedeliverFunction:
	$(LAMBDA_ENV) go build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/redeliver
build-HealthFunction:
	$(LAMBDA_ENV) go build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/health

FORCE:
