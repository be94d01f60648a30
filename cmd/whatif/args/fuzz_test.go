package args

import (
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/scenarios"
)

// quietHelp sends --help output nowhere while a fuzz target runs.
func quietHelp(f *testing.F) {
	old := HelpOut
	HelpOut = io.Discard
	f.Cleanup(func() { HelpOut = old })
}

// validStack fails unless sf is a stack the commands can start: the ports
// [base, base+PortSpan) must exist (computed without overflowing).
func validStack(t *testing.T, line string, sf *Stack) {
	t.Helper()
	if sf.Kind != "local" && sf.Kind != "compose" {
		t.Fatalf("%q: accepted --stack %q", line, sf.Kind)
	}
	if sf.Base < 1024 || sf.Base > 65535-compose.PortSpan {
		t.Fatalf("%q: accepted --base %d", line, sf.Base)
	}
}

// FuzzStackFlags: the flags of up, down, status and _serve (one argument a
// line) are refused or give a valid stack. Only ParseStack runs: the
// commands act on a stack right after it.
func FuzzStackFlags(f *testing.F) {
	for _, s := range []string{"", "--base\n70000", "--base\n80", "--base\n1024", "--base\n65335", "--base\n65336",
		"--base\n-1", "--stack\nk8s", "--stack\ncompose", "--stack\n", "--stack=local\n--base=15400", "extra", "--nope",
		"-h", "--help", "--base\n0x4000", "--base\n1e4", "--logs\n/dev/null", "--bin-dir\n", "--base", "--\n--base",
		"--base\n9223372036854775807"} {
		f.Add(s)
	}
	quietHelp(f)
	f.Fuzz(func(t *testing.T, line string) {
		sf, err := ParseStack("up", strings.Split(line, "\n"))
		if err != nil {
			return
		}
		validStack(t, line, sf)
	})
}

// FuzzRunFlags: `whatif run` (and `whatif ablate`) arguments (one a line) are refused, or give
// a registered experiment, a valid stack and a --break list of that
// experiment's own protections. ParseRun is every check cmdRun makes
// before it starts a stack.
func FuzzRunFlags(f *testing.F) {
	quietHelp(f)
	for _, s := range []string{"", "redis-crash", "no-such-thing", "redis-crash\n--load\nhuge", "redis-crash\n--variant\nhalf",
		"redis-crash\nextra", "redis-crash\n--nope", "redis-crash\n--base\n80", "redis-crash\n--stack\ncompose\n--base\n80",
		"redis-crash\n--stack\nk8s", "--quick\nredis-crash", "--quick\nredis-crash\nextra", "-h", "redis-crash\n-h",
		"--load\npeak\n--variant\nprotected\n--break\nl1_cache,db_breaker\nredis-crash", "--\n-x", "redis-crash\n--quick=maybe",
		"--break\n,\nredis-crash", "-", "redis-crash\n--base\n9223372036854775807", "redis-crash\n--break\ncache_bound",
		"redis-crash\n--results\n", "redis-crash\n--runs\nunprotected/peak,protected/normal", "redis-crash\n--runs\n",
		"redis-crash\n--runs\nprotected/peak,protected/peak", "redis-crash\n--runs\nprotected/peak\n--load\npeak",
		"redis-crash\n--runs\nunprotected/peak\n--break\nl1_cache", "redis-crash\n--runs\n/,",
		"retry-storm\n--set\nquery_cost=40ms", "retry-storm\n--set\nquery_cost=40ms,", "redis-crash\n--quick\n--set\nbreaker_cooldown=1ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if ra, err := ParseAblate(strings.Split(line, "\n")); err == nil {
			validStack(t, line, ra.Stack)
			if len(ra.O.Runs) == 0 || slices.ContainsFunc(ra.O.Runs, func(c experiments.Cell) bool { return c.Variant != experiments.Protected }) {
				t.Fatalf("%q: ablate accepted runs %v", line, ra.O.Runs)
			}
		}
		ra, err := ParseRun(strings.Split(line, "\n"))
		if err != nil {
			return
		}
		validStack(t, line, ra.Stack)
		if x, err := scenarios.Lookup(ra.X.Name); err != nil || x.Name != ra.X.Name {
			t.Fatalf("%q: accepted experiment %q", line, ra.X.Name)
		}
		if len(ra.O.Runs) == 0 {
			t.Fatalf("%q: accepted with no run to play", line)
		}
		for i, c := range ra.O.Runs {
			if !slices.Contains(experiments.Matrix(nil, nil), c) || slices.Contains(ra.O.Runs[:i], c) {
				t.Fatalf("%q: accepted runs %v", line, ra.O.Runs)
			}
		}
		if len(ra.O.Break) > 0 && !slices.ContainsFunc(ra.O.Runs, func(c experiments.Cell) bool { return c.Variant == experiments.Protected }) {
			t.Fatalf("%q: accepted --break with no protected run", line)
		}
		for _, p := range ra.O.Break {
			if !slices.Contains(ra.X.Protections(), p) {
				t.Fatalf("%q: accepted --break %q", line, p)
			}
		}
	})
}
