package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	base := []string{"--listen", "127.0.0.1:8080", "--redis", "127.0.0.1:6379",
		"--pg-primary", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, f flags)
	}{
		{name: "defaults", args: base, check: func(t *testing.T, f flags) {
			if f.dbPool != 4 || f.items != 100000 || f.l1Size != 10000 || f.protections != "all" ||
				f.knobs["query_cost"] != 20*time.Millisecond || f.knobs["breaker_cooldown"] != 30*time.Second ||
				f.knobs["retry_after"] != time.Second || f.startupTimeout != 30*time.Second {
				t.Fatalf("unexpected defaults %+v", f)
			}
		}},
		{name: "all flags", args: with("--pg-replica", "postgres://postgres@127.0.0.1:5433/postgres",
			"--pgbouncer", "postgres://postgres@127.0.0.1:6432/postgres", "--broker", "127.0.0.1:9092",
			"--db-pool", "8", "--query-cost", "5ms", "--items", "1000", "--redis-ttl", "10s", "--ttl-jitter", "0s",
			"--l1-size", "100", "--l1-ttl", "500ms", "--breaker-cooldown", "3s", "--protections", "none",
			"--admin-token", "tok", "--startup-timeout", "5s", "--retry-after", "2s"),
			check: func(t *testing.T, f flags) {
				if f.dbPool != 8 || f.knobs["query_cost"] != 5*time.Millisecond || f.knobs["retry_after"] != 2*time.Second ||
					f.pgReplica == "" || f.broker == "" || f.adminToken != "tok" {
					t.Fatalf("flags not parsed: %+v", f)
				}
			}},
		{name: "missing required", args: nil, wantErr: "--listen is required\n--redis is required\n--pg-primary is required"},
		{name: "bad listen", args: with("--listen", "8080"), wantErr: `--listen "8080": want HOST:PORT`},
		{name: "bad broker", args: with("--broker", "kafka"), wantErr: `--broker "kafka": want HOST:PORT`},
		{name: "bad replica dsn", args: with("--pg-replica", "postgres://x:y@h:notaport/db"), wantErr: "--pg-replica: invalid Postgres DSN"},
		{name: "bad pgbouncer dsn", args: with("--pgbouncer", "host=a port=b"), wantErr: "--pgbouncer: invalid Postgres DSN"},
		{name: "pool zero", args: with("--db-pool", "0"), wantErr: "--db-pool 0: must be in 1..1000"},
		{name: "pool not a number", args: with("--db-pool", "four"), wantErr: `invalid value "four" for flag -db-pool`},
		{name: "negative cost", args: with("--query-cost", "-5ms"), wantErr: "--query-cost -5ms"},
		{name: "cost without unit", args: with("--query-cost", "20"), wantErr: `invalid value "20" for flag -query-cost`},
		{name: "zero l1 ttl", args: with("--l1-ttl", "0s"), wantErr: "--l1-ttl 0s"},
		{name: "fractional retry-after", args: with("--retry-after", "500ms"), wantErr: "whole number of seconds"},
		{name: "unknown protection", args: with("--protections", "l1_cache,magic"), wantErr: "unknown protection(s) magic; valid names:"},
		{name: "empty protections", args: with("--protections", ""), wantErr: "empty protections"},
		{name: "low shed wait above high", args: with("--shed-wait-low", "2s", "--shed-wait-high", "1s"), wantErr: "--shed-wait-low 2s above --shed-wait-high 1s"},
		{name: "negative shed wait", args: with("--shed-wait-low", "-1s"), wantErr: "--shed-wait-low -1s: want a duration in [0, 1m]"},
		{name: "no checkout slots", args: with("--checkout-slots", "0"), wantErr: "--checkout-slots"},
		{name: "zero client rate", args: with("--client-rate", "0"), wantErr: "--client-rate 0: want a rate"},
		{name: "zero report pool", args: with("--report-pool", "0"), wantErr: "--report-pool 0: must be in 1..1000"},
		{name: "negative replica lifetime", args: with("--replica-conn-lifetime", "-1s"), wantErr: "--replica-conn-lifetime"},
		{name: "zero checkout conns", args: with("--checkout-conns", "0"), wantErr: "--checkout-conns 0"},
		{name: "negative rebuild cost", args: with("--rebuild-cost", "-1s"), wantErr: "--rebuild-cost -1s"},
		{name: "cluster node without port", args: with("--redis-cluster", "rc0=h:"), wantErr: `--redis-cluster node rc0 "h:": port must be`},
		{name: "unknown flag", args: with("--nope", "1"), wantErr: "flag provided but not defined: -nope"},
		{name: "positional", args: with("extra"), wantErr: `unexpected arguments ["extra"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f)
		})
	}
}
