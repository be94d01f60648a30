package scenarios

import (
	"testing"
	"time"

	. "github.com/whatif-lab/whatif/experiments"
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

func TestRegistryIsValid(t *testing.T) {
	seen := map[string]bool{}
	for _, x := range All() {
		if err := x.Validate(); err != nil {
			t.Error(err)
		}
		for _, scale := range []float64{1, QuickScale} {
			if err := CheckSettings(x, Options{Scale: scale}); err != nil {
				t.Error(err)
			}
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

func TestLayerAmplificationIsCallsPerRequest(t *testing.T) {
	// the layer got 100/s throughout and called its next layer 100/s, then
	// 250/s from the fault (3s) on: 2.5x during the fault phase.
	r := sampledRun(make([]float64, 10), make([]float64, 10))
	calls := 0.0
	for i := range r.Samples {
		r.Samples[i].Values["requests"] = float64(100 * i)
		r.Samples[i].Values["calls"] = calls
		if i < 3 {
			calls += 100
		} else {
			calls += 250
		}
	}
	got, err := layerAmplification(Faulted, "calls", "requests")(r)
	if err != nil || got < 2.49 || got > 2.51 {
		t.Fatalf("amplification during the fault %v (%v), want 2.5", got, err)
	}
}
