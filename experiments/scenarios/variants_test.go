package scenarios

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
)

// make test runs only the protected half of these variants (Makefile,
// EXPERIMENTS_QUICK) because their unprotected half is the base
// experiment's. This test keeps that true.
func TestVariantsShareTheirBaseUnprotectedHalf(t *testing.T) {
	for _, tc := range []struct{ variant, base string }{
		{"cache-stampede-coalescing", "cache-stampede"},
		{"hot-key-replicas", "hot-key"},
		{"traffic-spike-queue", "traffic-spike"},
		{"traffic-spike-pooler", "traffic-spike"},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			v, err := Lookup(tc.variant)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Lookup(tc.base)
			if err != nil {
				t.Fatal(err)
			}
			same := func(what string, x, y any) {
				t.Helper()
				if !reflect.DeepEqual(x, y) {
					t.Errorf("%s differs: %s has %v, %s has %v", what, tc.variant, x, tc.base, y)
				}
			}
			same("protections off when unprotected", v.SwitchedOff(Unprotected, nil), b.SwitchedOff(Unprotected, nil))
			same("settings", v.Settings, b.Settings)
			same("scaled settings", v.ScaledSettings, b.ScaledSettings)
			same("phases", v.Phases, b.Phases)
			same("instances", v.Instances, b.Instances)
			same("runner protections", v.RunnerProtections, b.RunnerProtections)
			same("load (rate, peak, in flight)", []any{v.Load.Rate, v.Load.RateFor(Peak), v.Load.InFlightLimit()},
				[]any{b.Load.Rate, b.Load.RateFor(Peak), b.Load.InFlightLimit()})
			same("load ops and policy", []uintptr{code(v.Load.Ops), code(v.Load.Policy)}, []uintptr{code(b.Load.Ops), code(b.Load.Policy)})
			same("fault, prepare, fence and after-recover", []uintptr{code(v.Fault), code(v.Prepare), code(v.Fence), code(v.AfterRecover)},
				[]uintptr{code(b.Fault), code(b.Prepare), code(b.Fence), code(b.AfterRecover)})
			same("cascade checks", checkNames(v.Cascade), checkNames(b.Cascade))
		})
	}
}

// code is a function's entry point: closures built by the same literal share it.
func code(f any) uintptr {
	v := reflect.ValueOf(f)
	if v.IsNil() {
		return 0
	}
	return v.Pointer()
}

func checkNames(cs []Check) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

func TestSwitchedOff(t *testing.T) {
	x := Experiment{Mitigation: []string{"l1_cache", "db_breaker"}, Off: []string{"db_breaker", "cache_warm"}}
	cases := []struct {
		variant Variant
		broken  []string
		want    []string
	}{
		{Unprotected, nil, []string{"cache_warm", "db_breaker", "l1_cache"}},
		{Unprotected, []string{"retry"}, []string{"cache_warm", "db_breaker", "l1_cache"}}, // --break is for the protected run
		{Protected, nil, []string{"cache_warm", "db_breaker"}},
		{Protected, []string{"l1_cache", "cache_warm"}, []string{"cache_warm", "db_breaker", "l1_cache"}},
	}
	for _, tc := range cases {
		if got := x.SwitchedOff(tc.variant, tc.broken); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SwitchedOff(%s, %v) = %v, want %v", tc.variant, tc.broken, got, tc.want)
		}
	}
}

// Every experiment's services are services of the topology, and the stack
// started for it holds the API and everything it names.
func TestEveryExperimentNamesItsServices(t *testing.T) {
	topo := compose.Default(0)
	for _, x := range All() {
		got, err := topo.Select(x.Needs())
		if err != nil {
			t.Errorf("%s: %v", x.Name, err)
			continue
		}
		for _, n := range x.Needs() {
			if !slices.Contains(got, n) {
				t.Errorf("%s: stack %v lacks %s", x.Name, got, n)
			}
		}
	}
}

func TestCheckBreak(t *testing.T) {
	x := Experiment{Name: "x", Mitigation: []string{"l1_cache", "db_breaker", "cache_warm"}, Off: []string{"db_breaker"}}
	cases := []struct {
		brk  []string
		want string // "" = accepted
	}{
		{nil, ""},
		{[]string{"l1_cache"}, ""},
		{[]string{"cache_warm", "l1_cache"}, ""},
		{[]string{"db_breaker"}, `--break "db_breaker": not a protection of x (its protections: cache_warm, l1_cache)`},
		{[]string{"l1_cache", "rate_limit"}, `--break "rate_limit"`},
		{[]string{""}, `--break ""`},
	}
	for _, c := range cases {
		err := x.CheckBreak(c.brk)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.brk, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want %q", c.brk, err, c.want)
		}
	}
}

// make test plays the unprotected and the protected run at peak only
// (Makefile, CI_RUNS): every check judged at normal load must be judged at
// peak too, or make test would never judge it. The exception is the
// experiment make test also plays at normal load (Makefile, UNPRIV_RUNS).
// make experiment still plays all four runs.
func TestCIJudgesEveryCheck(t *testing.T) {
	const playedAtNormal = "redis-crash"
	for _, x := range All() {
		for _, half := range []struct {
			name   string
			checks []Check
		}{{"cascade", x.Cascade}, {"holds", x.Holds}} {
			for _, c := range half.checks {
				if c.Level == Normal && !(half.name == "holds" && x.Name == playedAtNormal) {
					t.Errorf("%s: %s check %q is judged at normal load only, which make test does not play", x.Name, half.name, c.Name)
				}
			}
		}
	}
	if x, err := Lookup(playedAtNormal); err != nil {
		t.Fatal(err)
	} else if !slices.ContainsFunc(x.Holds, func(c Check) bool { return c.Level == Normal }) {
		t.Errorf("%s no longer has a normal-only check: make test need not play its protected normal run (Makefile, UNPRIV_RUNS)", playedAtNormal)
	}
}
