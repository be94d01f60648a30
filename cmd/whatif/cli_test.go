package main

import (
	"context"
	"strings"
	"testing"
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
		{[]string{"explain"}, "explain takes one experiment name"},
		{[]string{"explain", "nope"}, `unknown experiment "nope"`},
		{[]string{"down", "--base", "70000"}, "--base 70000"},
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
