# keepalived-go: build, lint and the test tiers. GNU make, bash.
#
#   make test    everything CI runs (as root on Debian 12): deps lint unit fuzz vm
#   make demo    failover demo in network namespaces (root)
#   make install the daemon, its unit and default file (DESTDIR, PREFIX)
#   make deb     the Debian package, in bin/
#
# `make test` sets KEEPALIVED_GO_REQUIRE_ALL=1 for the test tiers: a test
# that would skip for lack of root, a peer daemon or ip_vs fails instead.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

GO ?= go
BIN := $(CURDIR)/.bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(BIN)/staticcheck-$(STATICCHECK_VERSION)
NFPM_VERSION := v2.48.0
NFPM := $(BIN)/nfpm-$(NFPM_VERSION)
# The daemon as shipped: static (no cgo: user and group lookups read
# /etc/passwd and /etc/group), stripped, without build paths.
DAEMON ?= $(CURDIR)/bin/keepalived-go
DEBDIR ?= $(CURDIR)/bin
DESTDIR ?=
PREFIX ?= /usr
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
# Debian version: the tag's version, or 0.0.0 with the commit for an untagged tree.
VERSION ?= $(shell v=$$(git describe --tags --match 'v[0-9]*' 2>/dev/null) && echo "$${v\#v}" | tr - '~' || \
  echo "0.0.0~git$$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)")
FUZZ_SCALE ?= 1
TEST_TIMEOUT ?= 20m
# Packages built and tested in parallel: the CI machine has 2 cores.
TEST_P ?= 2
VMEXEC := $(CURDIR)/bin/vmexec
# The kernel-VM tier: the VM runner's own tests, ipvs, and any other package
# with a TestKernel* test (those need ip_vs, which the host kernel lacks).
VM_PKGS ?= $(sort ./internal/vm/ ./ipvs/... $(filter-out ./ipvs/% ./internal/vm/,$(addsuffix /,$(patsubst %/,%,$(dir \
  $(shell find . -name '*_test.go' -not -path './.cache/*' -not -path '*/testdata/*' -print0 2>/dev/null | \
    xargs -0 -r grep -l '^func TestKernel' 2>/dev/null))))))
BENCHFLAGS ?= -benchmem

.PHONY: test deps tools lint unit fuzz vm bench demo cover clean help build install deb

## test: every tier in order, with each tier's wall time at the end
test:
	@MAKE="$(MAKE)" scripts/tiers.sh deps lint unit fuzz vm

## deps: apt packages for the interop and VM tiers (root), pinned Go tools
deps: tools
	@scripts/deps.sh

## tools: pinned staticcheck and nfpm in .bin/
tools: $(STATICCHECK) $(NFPM)

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/staticcheck $@

$(NFPM):
	GOBIN=$(BIN) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
	mv $(BIN)/nfpm $@

## build: the daemon as shipped, in bin/keepalived-go
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(DAEMON) ./examples/keepalived

## install: the daemon, its systemd unit, default file and example config under DESTDIR
install: build
	install -D -m 0755 $(DAEMON) $(DESTDIR)$(PREFIX)/sbin/keepalived-go
	install -D -m 0644 examples/keepalived/dist/keepalived-go.service $(DESTDIR)$(UNITDIR)/keepalived-go.service
	@# An operator's edited default file is kept.
	if [[ ! -e $(DESTDIR)$(SYSCONFDIR)/default/keepalived-go ]]; then \
	  install -D -m 0644 examples/keepalived/dist/keepalived-go.default $(DESTDIR)$(SYSCONFDIR)/default/keepalived-go; fi
	install -D -m 0644 examples/keepalived/dist/keepalived.conf \
	  $(DESTDIR)$(PREFIX)/share/doc/keepalived-go/examples/keepalived.conf
	install -D -m 0644 LICENSE $(DESTDIR)$(PREFIX)/share/doc/keepalived-go/copyright

## deb: bin/keepalived-go_VERSION_amd64.deb (DEBDIR), built with nfpm (no dpkg tools needed)
deb: build $(NFPM)
	@# File times are the commit's, so the same commit gives the same package.
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)} \
	  KEEPALIVED_GO_VERSION='$(VERSION)' KEEPALIVED_GO_BIN=$(DAEMON) \
	  $(NFPM) package --config examples/keepalived/dist/nfpm.yaml --packager deb --target $(DEBDIR)/

## lint: gofmt, go vet (linux and darwin), staticcheck, go mod tidy -diff, import boundaries
lint: tools
	@GO=$(GO) scripts/lint.sh $(STATICCHECK)

## unit: unit, netns (TestIntegration*) and interop (TestInterop*) tests; TestKernel* run in `make vm`
unit:
	KEEPALIVED_GO_REQUIRE_ALL=1 $(GO) test -race -shuffle=on -count=1 -p $(TEST_P) \
	  -timeout $(TEST_TIMEOUT) -skip '^TestKernel' ./...

## fuzz: every FuzzXxx in the tree for its execution budget (scripts/fuzz-budgets) times FUZZ_SCALE
fuzz:
	@GO=$(GO) FUZZ_SCALE=$(FUZZ_SCALE) scripts/fuzz.sh

## vm: TestKernel* inside a qemu VM booting a Debian kernel with ip_vs
vm:
	$(GO) build -o $(VMEXEC) ./internal/cmd/vmexec
	CGO_ENABLED=0 KEEPALIVED_GO_REQUIRE_ALL=1 $(GO) test -count=1 -exec $(VMEXEC) \
	  -run '^TestKernel' -v $(VM_PKGS)

## bench: benchmarks on the host, then the VM packages' benchmarks inside the VM
bench:
	$(GO) test -run '^$$' -bench . $(BENCHFLAGS) ./...
	@if [[ -d internal/cmd/vmexec ]]; then \
	  $(GO) build -o $(VMEXEC) ./internal/cmd/vmexec && \
	  CGO_ENABLED=0 $(GO) test -count=1 -exec $(VMEXEC) -run '^$$' -bench . $(BENCHFLAGS) $(VM_PKGS); fi

## demo: three routers in network namespaces, kill the master, watch the takeover (root)
demo:
	$(GO) run ./examples/demo

## cover: coverage per package (host tiers), then the total
cover:
	$(GO) test -count=1 -p $(TEST_P) -timeout $(TEST_TIMEOUT) -skip '^TestKernel' \
	  -covermode=atomic -coverprofile=coverage.out ./...
	@$(GO) tool cover -func=coverage.out | tail -n 1

## clean: remove built binaries and coverage output (keeps .cache/vm and .bin)
clean:
	rm -rf $(CURDIR)/bin coverage.out

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)
