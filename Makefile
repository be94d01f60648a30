# whatif — the two commands a newcomer needs:
#   make experiment SCENARIO=redis-crash    (installs what is missing, builds, runs one experiment)
#   make test                               (everything CI runs)
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
SCENARIO ?=
ARGS ?=
# Debian packages of the real servers the stack runs (never mocks).
DEB_PKGS := postgresql-15 postgresql-client-15 patroni python3-psycopg2 python3-etcd etcd-server etcd-client haproxy pgbouncer redis-server
EXPERIMENTS_QUICK := redis-crash db-failover db-failover-pause retry-storm cache-stampede cache-stampede-coalescing slow-query traffic-spike

.PHONY: all deps build test unit integration experiments-quick experiment bench list clean fmt vet

all: build

deps:
	@command -v $(GO) >/dev/null || { echo "Go is missing: install Go >= 1.26 (https://go.dev/dl) and put it on PATH"; exit 1; }
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian packages:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:" $$missing; echo "install them with: sudo apt-get install" $$missing; exit 1; \
	  fi; \
	fi
	@id postgres >/dev/null 2>&1 || { echo "the postgres OS user is missing (it comes with postgresql-15)"; exit 1; }

build:
	$(GO) build -o $(BIN)/whatif ./cmd/whatif
	$(GO) build -o $(BIN)/whatif-api ./services/api
	$(GO) build -o $(BIN)/whatif-broker ./services/broker

fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Unit tests: fast, race detector on.
unit:
	$(GO) test -race -count=1 -short ./...

# Integration tests: real Postgres/Patroni/etcd/HAProxy/PgBouncer/Redis processes.
integration: build
	WHATIF_BIN_DIR=$(BIN) $(GO) test -count=1 -timeout 30m ./compose/... ./services/... ./cmd/...

# Every registered experiment of the foundation, quick time scale, full matrix.
experiments-quick: build
	@set -e; for x in $(EXPERIMENTS_QUICK); do echo "=== $$x"; $(BIN)/whatif run $$x --quick; done

test: deps fmt vet unit integration experiments-quick

experiment: deps build
	@test -n "$(SCENARIO)" || { echo "usage: make experiment SCENARIO=<name> [ARGS='--quick --load peak']"; $(BIN)/whatif list; exit 2; }
	$(BIN)/whatif run $(SCENARIO) $(ARGS)

list: build
	$(BIN)/whatif list

bench:
	$(GO) run ./cmd/loadbench

clean:
	rm -rf $(BIN) results
