package experiments

import (
	"fmt"
	"testing"

	"github.com/whatif-lab/whatif/loadgen"
)

func TestFailureMixNamesClassesAndCodes(t *testing.T) {
	cases := []struct {
		name string
		s    loadgen.Summary
		want string
	}{
		{"classes sorted, 2xx codes left out", loadgen.Summary{Completed: 312,
			Errors: map[string]int64{"timeout": 1, "http5xx": 7}, Codes: map[int]int64{201: 304, 503: 7}},
			"errors: http5xx 7, timeout 1 of 312; final codes: 503 7"},
		{"transport errors only", loadgen.Summary{Completed: 10, Errors: map[string]int64{"refused": 2}},
			"errors: refused 2 of 10"},
	}
	for _, c := range cases {
		if got := failureMix(c.s); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// A failing check carries what its measure said; a passing one does not,
// and a stale explanation from an earlier check never leaks into the next.
func TestFailingCheckCarriesTheExplanation(t *testing.T) {
	explained := func(v float64) Explained {
		return func(r *Run) (float64, string, error) { return v, fmt.Sprintf("because %v", v), nil }
	}
	r := &Run{}
	fail := AtMost("x", explained(2), 1, Count).Eval(r)
	pass := AtMost("y", explained(0), 1, Count).Eval(r)
	silent := AtMost("z", constant(5, nil), 1, Count).Eval(r)
	if fail.Status != Fail || fail.Detail != "because 2" {
		t.Errorf("failing check: %v %q, want FAIL with the measure's explanation", fail.Status, fail.Detail)
	}
	if pass.Status != Pass || pass.Detail != "" {
		t.Errorf("passing check: %v %q, want PASS without detail", pass.Status, pass.Detail)
	}
	if silent.Status != Fail || silent.Detail != "" {
		t.Errorf("check after an explained one: %v %q, want FAIL with no stale detail", silent.Status, silent.Detail)
	}
}
