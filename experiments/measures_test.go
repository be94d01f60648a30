package experiments

import (
	"fmt"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// sampledRun is a run with one sample a second (20 ms late, as the
// sampler's are) of counter "c" growing by perSecond[i] in second i, and
// gauge "g" taking gauge[i].
func sampledRun(perSecond, gauge []float64) *Run {
	r := &Run{FaultAt: 3 * time.Second, RecoverAt: 6 * time.Second, RecoveredAt: 6 * time.Second, End: 9 * time.Second}
	c := 0.0
	for i := range perSecond {
		if i > 0 {
			c += perSecond[i]
		}
		r.Samples = append(r.Samples, Sample{
			At:     time.Duration(i)*time.Second + 20*time.Millisecond,
			Values: map[string]float64{"c": c, "g": gauge[i]},
		})
	}
	return r
}

func TestCounterIncreaseCountsFromFaultToEnd(t *testing.T) {
	//                   0  1  2  3  4   5  6  7  8  9
	r := sampledRun([]float64{0, 1, 1, 1, 50, 3, 0, 0, 0, 0}, make([]float64, 10))
	got, err := counterIncrease("c")(r)
	if err != nil || got < 52.9 || got > 53.1 {
		t.Fatalf("increase %v (%v), want 53: the 50-rebuild burst and 3 after, nothing before the fault", got, err)
	}
}

func TestUntilGauge(t *testing.T) {
	cases := []struct {
		name  string
		gauge []float64
		want  float64
		ok    bool
	}{
		{"reached a second after the fault", []float64{0, 0, 0, 0, 3, 9, 9, 0, 0, 0}, 1.02, true},
		{"before the fault does not count", []float64{0, 5, 0, 0, 0, 0, 0, 0, 0, 0}, 0, false},
		{"never", make([]float64, 10), 0, false},
	}
	for _, c := range cases {
		got, err := untilGauge("g", 1)(sampledRun(make([]float64, 10), c.gauge))
		if (err == nil) != c.ok || (c.ok && (got < c.want-0.001 || got > c.want+0.001)) {
			t.Errorf("%s: %v, %v; want %v ok=%v", c.name, got, err, c.want, c.ok)
		}
	}
}

func TestAfterSpikeSkipsTheSettlingTime(t *testing.T) {
	// 100/s until 2s after recovery (6s), then 10/s: the window that
	// starts stormSettle (4s) after recovery sees only the 10/s.
	r := sampledRun([]float64{0, 100, 100, 100, 100, 100, 100, 100, 100, 10}, make([]float64, 10))
	r.End = 14 * time.Second
	for i := 10; i <= 14; i++ {
		last := r.Samples[len(r.Samples)-1].Values["c"]
		r.Samples = append(r.Samples, Sample{At: time.Duration(i)*time.Second + 20*time.Millisecond, Values: map[string]float64{"c": last + 10}})
	}
	got, _, err := afterSpike(Rate(Recovery, "c"))(r)
	if err != nil || got < 9.9 || got > 10.1 {
		t.Fatalf("rate after the spike %v (%v), want 10", got, err)
	}
	if r.RecoveredAt != 6*time.Second {
		t.Fatal("afterSpike changed the run it measured")
	}
}

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
