package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/cmd/whatif/args"
)

// Bad input gets a clear message and exit code 2, never a panic or a
// silent default.
func TestRejectsBadInput(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"run"}, "which experiment?"},
		{[]string{"run", "no-such-thing"}, `unknown experiment "no-such-thing"`},
		{[]string{"run", "redis-crash", "--load", "huge"}, `--load "huge"`},
		{[]string{"run", "redis-crash", "--variant", "half"}, `--variant "half"`},
		{[]string{"run", "redis-crash", "extra"}, "unexpected arguments"},
		{[]string{"run", "redis-crash", "--nope"}, "flag provided but not defined"},
		{[]string{"run", "redis-crash", "--base", "80"}, "--base 80"},
		{[]string{"run", "redis-crash", "--stack", "compose", "--base", "80"}, "--base 80"}, // compose is accepted, then validated
		{[]string{"run", "redis-crash", "--stack", "k8s"}, `--stack "k8s"`},
		{[]string{"run", "redis-crash", "--runs", "unprotected/huge"}, `--runs: run "unprotected/huge": want variant/load`},
		{[]string{"run", "redis-crash", "--runs", ""}, "--runs: no runs named"},
		{[]string{"run", "redis-crash", "--runs", "protected/peak,protected/peak"}, `run "protected/peak" named twice`},
		{[]string{"run", "redis-crash", "--runs", "protected/peak", "--load", "peak"}, "drop --load and --variant"},
		{[]string{"run", "redis-crash", "--variant", "unprotected", "--break", "l1_cache"}, "--break switches protections off in protected runs, and no protected run is asked for"},
		{[]string{"run", "retry-storm", "--set", "query_cost"}, `--set: "query_cost": want name=duration`},
		{[]string{"run", "retry-storm", "--set", ""}, "--set: want name=duration,...; valid names: acquire_wait, alert_age, breaker_cooldown"},
		{[]string{"run", "retry-storm", "--set", "cost=40ms"}, `--set: unknown setting "cost"`},
		{[]string{"run", "retry-storm", "--set", "query_cost=fast"}, `--set: query_cost "fast": want a duration`},
		{[]string{"run", "retry-storm", "--set", "query_cost=40ms,query_cost=50ms"}, "--set: query_cost given twice"},
		{[]string{"run", "redis-crash", "--quick", "--set", "breaker_cooldown=1ms"}, "--set: redis-crash at time scale 0.25: breaker_cooldown 0s: must be in 1ms..1h0m0s"},
		{[]string{"ablate", "retry-storm", "--set", "retry_after=1500ms"}, "--set: retry_after 1.5s: must be a whole number"},
		{[]string{"ablate"}, "which experiment?"},
		{[]string{"ablate", "no-such-thing"}, `unknown experiment "no-such-thing"`},
		{[]string{"ablate", "redis-crash", "--load", "huge"}, `--load "huge"`},
		{[]string{"ablate", "redis-crash", "--break", "l1_cache"}, "flag provided but not defined: -break"},
		{[]string{"ablate", "redis-crash", "--stack", "k8s"}, `--stack "k8s"`},
		{[]string{"report"}, "report takes one run folder"},
		{[]string{"report", "/nonexistent/run"}, "not a run folder"},
		{[]string{"compare", "a"}, "compare takes two run folders"},
		{[]string{"compare", "/nonexistent/a", "/nonexistent/b"}, "/nonexistent/a"},
		{[]string{"compare", "--tolerance", "2", "a", "b"}, "--tolerance 2"},
		{[]string{"explain"}, "explain takes one experiment name"},
		{[]string{"explain", "nope"}, `unknown experiment "nope"`},
		{[]string{"down", "--base", "70000"}, "--base 70000"},
		// checked before any stack starts, naming the experiment's own protections
		{[]string{"run", "redis-crash", "--break", "cache_bound"}, `not a protection of redis-crash (its protections: cache_warm, db_breaker, l1_cache)`},
		{[]string{"run", "hot-key-replicas", "--break", "hot_key_l1"}, `not a protection of hot-key-replicas`},
		{[]string{"up", "--for", "nope"}, `--for: unknown experiment "nope"`},
		{[]string{"up", "extra"}, "unexpected arguments"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			code, err := dispatch(context.Background(), c.args)
			if code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestExplainEveryExperiment(t *testing.T) {
	for _, name := range []string{"redis-crash", "db-failover", "db-failover-pause"} {
		if code, err := dispatch(context.Background(), []string{"explain", name}); code != 0 || err != nil {
			t.Errorf("explain %s: code %d err %v", name, code, err)
		}
	}
}

// --help lists a command's flags and is not an error (main exits 0).
func TestHelpListsFlags(t *testing.T) {
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--help"}, []string{"-quick", "-load", "-variant", "-break", "-stack", "-logs"}},
		{[]string{"run", "redis-crash", "-h"}, []string{"-quick", "-stack"}},
		{[]string{"up", "--help"}, []string{"-stack", "-base", "-logs", "-for"}},
		{[]string{"down", "--help"}, []string{"-stack", "-base"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			old := args.HelpOut
			args.HelpOut = &out
			defer func() { args.HelpOut = old }()
			_, err := dispatch(context.Background(), c.args)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("error %v, want flag.ErrHelp", err)
			}
			for _, w := range c.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("help does not list %s:\n%s", w, out.String())
				}
			}
		})
	}
}
