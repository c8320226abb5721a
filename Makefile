# Strata build targets. `make test` is the one command that runs the whole
# test suite (README "Testing"); .ci/run calls it.

GO        ?= go
VERSION   ?= 0.1.0-dev
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN       ?= bin/strata

.PHONY: build test lint proto bench fuzz-wire

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/strata

test: lint
	$(GO) test -count=1 -timeout 25m ./...
	$(GO) test -count=1 -race -timeout 10m ./db/flow/ ./db/sim/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./db/flow/ ./db/wire/
	$(GO) test -run '^$$' -bench . -benchtime 100x ./db/sim/simtests/

fuzz-wire:
	$(GO) test -run '^$$' -fuzz=FuzzFrameReader -fuzztime=60s ./db/wire/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

proto:
	$(MAKE) -C db/wire proto
