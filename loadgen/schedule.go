package loadgen

import (
	"math"
	"time"
)

// rateStep is the grid on which the rate function is sampled. It matches the
// ~1 ms timer granularity: a finer grid would buy no real precision.
const rateStep = time.Millisecond

// schedule turns a rate function into send offsets: the first request goes
// out as soon as the rate is positive, and each next one when the rate,
// integrated (piecewise constant on a 1 ms grid) since the previous send,
// reaches one request. Integrating instead of stepping by 1/rate makes a
// spike that starts mid-interval take effect at once. Positions are kept in
// fractional nanoseconds so that rounding never drifts the rate.
type schedule struct {
	rate  func(time.Duration) float64
	end   float64 // ns
	pos   float64 // exact position of the last send, ns
	last  time.Duration
	begun bool
}

func newSchedule(rate func(time.Duration) float64, end time.Duration) *schedule {
	return &schedule{rate: rate, end: float64(end)}
}

// next returns the offset of the next send, or ok=false once it would fall at
// or after the end.
func (s *schedule) next() (at time.Duration, ok bool) {
	const step = float64(rateStep)
	t, need := s.pos, 1.0
	if !s.begun {
		need = 0
	}
	for t < s.end {
		gridEnd := (math.Floor(t/step) + 1) * step
		r := s.rate(time.Duration(t))
		if !(r > 0) || math.IsInf(r, 0) { // non-positive, NaN or Inf: nothing accrues
			t = gridEnd
			continue
		}
		if dt := need / r * float64(time.Second); t+dt <= gridEnd {
			t += dt
			break
		}
		need -= r * (gridEnd - t) / float64(time.Second)
		t = gridEnd
	}
	at = time.Duration(math.Round(t))
	if s.begun && at <= s.last {
		at = s.last + 1 // absurd rates still make progress
	}
	if t >= s.end || at >= time.Duration(s.end) {
		return 0, false
	}
	s.pos, s.last, s.begun = t, at, true
	return at, true
}

// ConstantRate returns a rate function of r requests per second.
func ConstantRate(r float64) func(time.Duration) float64 {
	return func(time.Duration) float64 { return r }
}

// Phase is a stretch of constant rate: baseline, spike, recovery, ...
type Phase struct {
	Duration time.Duration
	Rate     float64 // requests per second
}

// Phases returns a rate function that walks through ps in order (zero after
// the last one) and the total duration, ready for Plan.Rate and Plan.Duration.
func Phases(ps ...Phase) (rate func(time.Duration) float64, total time.Duration) {
	ends := make([]time.Duration, len(ps))
	for i, p := range ps {
		total += p.Duration
		ends[i] = total
	}
	return func(e time.Duration) float64 {
		for i, end := range ends {
			if e < end {
				return ps[i].Rate
			}
		}
		return 0
	}, total
}
