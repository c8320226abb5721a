# Strata build targets. `make test` is the one command that runs the whole
# test suite (README "Testing"); .ci/run calls it.

GO        ?= go
VERSION   ?= 0.1.0-dev
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN       ?= bin/strata

.PHONY: build test lint proto bench bench-deployer fuzz-wire quickstart quickstart-down systemd-rootfs

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/strata

test: lint
	$(GO) test -count=1 -timeout 25m ./...
	$(GO) test -count=1 -race -timeout 10m ./db/flow/ ./db/sim/

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./db/flow/ ./db/wire/
	$(GO) test -run '^$$' -bench . -benchtime 100x ./db/sim/simtests/

# Deployer benchmarks (docs/benchmarks.md): a 1,000-host plan without
# refresh, then fresh apply, no-change plan and fresh apply beside Ansible
# on 8 namespace test hosts (root, openssh-server, iproute2; ansible for the
# last, which it skips without).
bench-deployer:
	$(GO) test -run '^$$' -bench 'PlanNoRefresh1000' -benchtime 10x ./test/e2e/
	$(GO) test -run '^$$' -bench 'FreshApply$$|NoChangePlan' -benchtime 5x ./test/e2e/
	$(GO) test -run '^$$' -bench 'FreshApplyVsAnsible' -benchtime 5x -timeout 60m ./test/e2e/

# The Debian root filesystem the systemd test hosts boot (test/e2e
# TestSSHApplyToSystemdHost skips without it): root, mmdebstrap (or
# debootstrap) and the Debian archive; kept in /var/cache/strata-test and
# rebuilt only when its recipe changes (testhost.SystemdRootfs names the
# same place).
systemd-rootfs:
	test/e2e/testhost/systemd-rootfs.sh /var/cache/strata-test/rootfs

fuzz-wire:
	$(GO) test -run '^$$' -fuzz=FuzzFrameReader -fuzztime=60s ./db/wire/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

proto:
	$(MAKE) -C db/wire proto

# The quickstart: a three-zone cluster on this machine from configs/local.hcl,
# then its live dashboard (q quits; the cluster keeps running).
LOCAL_CLUSTER_FILE := /tmp/strata-local/z1/etc/strata.cluster

quickstart: build
	$(BIN) apply -auto-approve configs/local.hcl
	$(BIN) dash -C $(LOCAL_CLUSTER_FILE)

quickstart-down: build
	$(BIN) destroy -auto-approve configs/local.hcl
