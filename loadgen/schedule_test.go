package loadgen

import (
	"math"
	"testing"
	"time"
)

func offsets(rate func(time.Duration) float64, d time.Duration) []time.Duration {
	s := newSchedule(rate, d)
	var out []time.Duration
	for at, ok := s.next(); ok; at, ok = s.next() {
		out = append(out, at)
	}
	return out
}

// gapRange says sends [from, to) are exactly gap apart.
type gapRange struct {
	from, to int
	gap      time.Duration
}

func TestScheduleCountAndSpacing(t *testing.T) {
	step := func(at time.Duration, before, after float64) func(time.Duration) float64 {
		return func(e time.Duration) float64 {
			if e < at {
				return before
			}
			return after
		}
	}
	phases, _ := Phases(Phase{time.Second, 0}, Phase{time.Second, 50})
	tests := []struct {
		name  string
		rate  func(time.Duration) float64
		dur   time.Duration
		count int
		first time.Duration
		gaps  []gapRange
	}{
		{name: "constant 100/s", rate: ConstantRate(100), dur: time.Second, count: 100,
			gaps: []gapRange{{0, 100, 10 * time.Millisecond}}},
		{name: "constant 10k/s", rate: ConstantRate(10000), dur: 2 * time.Second, count: 20000,
			gaps: []gapRange{{0, 20000, 100 * time.Microsecond}}},
		{name: "10x spike after 1s", rate: step(time.Second, 10, 100), dur: 2 * time.Second, count: 110,
			gaps: []gapRange{{0, 11, 100 * time.Millisecond}, {10, 110, 10 * time.Millisecond}}},
		{name: "spike mid-interval takes effect at once", rate: step(500*time.Millisecond, 1, 1000), dur: time.Second,
			count: 1 + 500, first: 0},
		{name: "idle first second", rate: phases, dur: 2 * time.Second, count: 50, first: time.Second,
			gaps: []gapRange{{0, 50, 20 * time.Millisecond}}},
		{name: "zero rate", rate: ConstantRate(0), dur: time.Second, count: 0},
		{name: "NaN rate sends nothing", rate: ConstantRate(math.NaN()), dur: time.Second, count: 0},
		{name: "fractional rate", rate: ConstantRate(2.5), dur: 4 * time.Second, count: 10,
			gaps: []gapRange{{0, 10, 400 * time.Millisecond}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := offsets(tc.rate, tc.dur)
			if len(got) != tc.count {
				t.Fatalf("got %d sends, want %d", len(got), tc.count)
			}
			if len(got) == 0 {
				return
			}
			if got[0] != tc.first {
				t.Errorf("first send at %v, want %v", got[0], tc.first)
			}
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("send %d at %v not after send %d at %v", i, got[i], i-1, got[i-1])
				}
			}
			if last := got[len(got)-1]; last >= tc.dur {
				t.Errorf("last send at %v, not before the end %v", last, tc.dur)
			}
			for _, g := range tc.gaps {
				for i := g.from + 1; i < g.to; i++ {
					if d := got[i] - got[i-1]; d != g.gap {
						t.Fatalf("gap before send %d = %v, want %v", i, d, g.gap)
					}
				}
			}
		})
	}
}

func TestPhases(t *testing.T) {
	rate, total := Phases(Phase{2 * time.Second, 100}, Phase{time.Second, 1000}, Phase{2 * time.Second, 100})
	if total != 5*time.Second {
		t.Fatalf("total = %v, want 5s", total)
	}
	tests := []struct {
		at   time.Duration
		want float64
	}{{0, 100}, {1999 * time.Millisecond, 100}, {2 * time.Second, 1000}, {3 * time.Second, 100}, {5 * time.Second, 0}}
	for _, tc := range tests {
		if got := rate(tc.at); got != tc.want {
			t.Errorf("rate(%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
	if n := len(offsets(rate, total)); n != 200+1000+200 {
		t.Errorf("phases schedule %d sends, want 1400", n)
	}
}

func TestScheduleDoesNotDrift(t *testing.T) {
	tests := []struct {
		rate float64
		dur  time.Duration
		want int
	}{{12000, 2 * time.Second, 24000}, {3, 3 * time.Second, 9}, {7000, time.Second, 7000}, {333.3, 10 * time.Second, 3333}}
	for _, tc := range tests {
		got := offsets(ConstantRate(tc.rate), tc.dur)
		if len(got) != tc.want {
			t.Errorf("rate %v for %v: %d sends, want %d", tc.rate, tc.dur, len(got), tc.want)
		}
		perSecond := map[time.Duration]int{}
		for _, at := range got {
			perSecond[at/time.Second]++
		}
		for sec, n := range perSecond {
			if lo, hi := int(tc.rate), int(tc.rate)+1; n < lo || n > hi {
				t.Errorf("rate %v: second %d has %d sends, want %d..%d", tc.rate, sec, n, lo, hi)
			}
		}
	}
}
