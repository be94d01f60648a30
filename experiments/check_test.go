package experiments

import (
	"errors"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

func constant(v float64, err error) Measure { return func(*Run) (float64, error) { return v, err } }

func TestCompareChecks(t *testing.T) {
	noData := errors.New("nothing measured")
	cases := []struct {
		name  string
		check Check
		want  Status
	}{
		{"at least passes on equal", AtLeast("x", constant(5, nil), 5, Ratio), Pass},
		{"at least fails below", AtLeast("x", constant(4.99, nil), 5, Ratio), Fail},
		{"at most passes below", AtMost("x", constant(0.009, nil), 0.01, Percent), Pass},
		{"at most fails above", AtMost("x", constant(0.02, nil), 0.01, Percent), Fail},
		{"missing data is unknown, never pass", AtLeast("x", constant(0, noData), 0, Ratio), Unknown},
		{"NaN is unknown", AtMost("x", constant(nanValue(), nil), 1, Ratio), Unknown},
		{"any of: one pass", AnyOf("y", AtLeast("a", constant(0, nil), 1, Count), AtLeast("b", constant(2, nil), 1, Count)), Pass},
		{"any of: all fail", AnyOf("y", AtLeast("a", constant(0, nil), 1, Count), AtLeast("b", constant(0, nil), 1, Count)), Fail},
		{"any of: fail and unknown", AnyOf("y", AtLeast("a", constant(0, nil), 1, Count), AtLeast("b", constant(0, noData), 1, Count)), Unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.check.Eval(&Run{}).Status; got != c.want {
				t.Fatalf("status %v, want %v", got, c.want)
			}
		})
	}
}

func nanValue() float64 { z := 0.0; return z / z }

func TestOverall(t *testing.T) {
	cases := []struct {
		in   []Status
		want Status
	}{
		{[]Status{Pass, Pass}, Pass},
		{[]Status{Pass, Unknown}, Unknown},
		{[]Status{Unknown, Fail, Pass}, Fail},
		{nil, Pass},
	}
	for _, c := range cases {
		var os []Outcome
		for _, s := range c.in {
			os = append(os, Outcome{Status: s})
		}
		if got := Overall(os); got != c.want {
			t.Errorf("Overall(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// A run without a healthy baseline proves nothing: judge must not pass it.
func TestJudgeWeakBaselineIsUnknown(t *testing.T) {
	r := &Run{Level: Normal, FaultAt: 5 * time.Second, RecoverAt: 8 * time.Second, RecoveredAt: 8 * time.Second, End: 12 * time.Second}
	out := judge(r, []Check{AtLeast("x", constant(10, nil), 1, Ratio)})
	if len(out) != 1 || out[0].Status != Unknown {
		t.Fatalf("outcomes %+v, want one Unknown (no timeline = no baseline)", out)
	}
}

func TestJudgeSkipsOtherLevels(t *testing.T) {
	r := &Run{Level: Normal}
	out := judge(r, []Check{AtPeak(AtLeast("x", constant(1, nil), 1, Ratio))})
	if len(out) != 0 {
		t.Fatalf("peak-only check judged in a normal run: %+v", out)
	}
}

func TestCounterRate(t *testing.T) {
	r := &Run{FaultAt: 3 * time.Second, RecoverAt: 6 * time.Second, RecoveredAt: 6 * time.Second, End: 9 * time.Second}
	for i := 0; i <= 9; i++ {
		v := float64(i * 10) // 10/s before the fault
		if i > 3 {
			v = 30 + float64(i-3)*100 // 100/s after
		}
		r.Samples = append(r.Samples, Sample{At: time.Duration(i)*time.Second + 20*time.Millisecond, Values: map[string]float64{"q": v}})
	}
	cases := []struct {
		p    Phase
		want float64
	}{{Baseline, 10}, {Faulted, 100}, {Recovery, 100}}
	for _, c := range cases {
		got, err := r.CounterRate(c.p, "q")
		if err != nil || got < c.want*0.99 || got > c.want*1.01 {
			t.Errorf("%s: rate %v err %v, want %v", c.p, got, err, c.want)
		}
	}
	if _, err := r.CounterRate(Baseline, "missing"); err == nil {
		t.Error("a counter the API never reported must be an error, not 0")
	}
}

func TestLongestAckGap(t *testing.T) {
	start := time.Unix(1000, 0)
	ack := func(doneAt time.Duration) loadgen.Result {
		return loadgen.Result{Scheduled: start.Add(doneAt - 10*time.Millisecond), Latency: 10 * time.Millisecond}
	}
	cases := []struct {
		name     string
		acks     []time.Duration
		from, to time.Duration
		want     float64
	}{
		{"steady", []time.Duration{1e9, 2e9, 3e9, 4e9}, 1e9, 4e9, 1},
		{"hole in the middle", []time.Duration{1e9, 2e9, 7e9, 8e9}, 1e9, 8e9, 5},
		{"nothing after the fault", []time.Duration{1e9}, 2e9, 10e9, 8},
		{"no acks at all", nil, 2e9, 5e9, 3},
	}
	for _, c := range cases {
		var acked []loadgen.Result
		for _, d := range c.acks {
			acked = append(acked, ack(d))
		}
		if got := longestAckGap(acked, start, c.from, c.to); got < c.want-0.001 || got > c.want+0.001 {
			t.Errorf("%s: gap %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRegistryIsValid(t *testing.T) {
	seen := map[string]bool{}
	for _, x := range All() {
		if err := x.validate(); err != nil {
			t.Error(err)
		}
		if seen[x.Name] {
			t.Errorf("duplicate experiment name %s", x.Name)
		}
		seen[x.Name] = true
	}
	if _, err := Lookup("no-such-thing"); err == nil {
		t.Error("unknown experiment name accepted")
	}
}

func TestFlatten(t *testing.T) {
	nums, texts := map[string]float64{}, map[string]string{}
	flatten("", map[string]any{"a": map[string]any{"b": 2.0, "s": "open"}, "t": true}, nums, texts)
	if nums["a.b"] != 2 || nums["t"] != 1 || texts["a.s"] != "open" {
		t.Fatalf("nums %v texts %v", nums, texts)
	}
}
