package experiments

import (
	"errors"
	"testing"
	"time"
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
		{"beyond a max: fails", AtMost("x", constant(0, &Beyond{Value: 12, Why: "not seen"}), 10, Seconds), Fail},
		{"beyond a min: passes", AtLeast("x", constant(0, &Beyond{Value: 12, Why: "not seen"}), 10, Seconds), Pass},
		{"seen too short to tell: unknown", AtMost("x", constant(0, &Beyond{Value: 9, Why: "not seen"}), 10, Seconds), Unknown},
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
	for _, c := range []struct {
		run   Level
		check Check
	}{
		{Normal, AtPeak(AtLeast("x", constant(1, nil), 1, Ratio))},
		{Peak, AtNormal(AtLeast("x", constant(1, nil), 1, Ratio))},
	} {
		if out := judge(&Run{Level: c.run}, []Check{c.check}); len(out) != 0 {
			t.Errorf("%s check judged in a %s run: %+v", c.check.Level, c.run, out)
		}
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
