package loadgen

import (
	"errors"
	"fmt"
	"time"
)

// DefaultDropAfter is how long a due request may wait for a free worker
// before it is dropped, when Plan.DropAfter is zero. The wait costs nothing in
// accuracy (latency runs from the scheduled time, so it is counted), so the
// grace only has to be long enough that the generator's own hiccups never
// cause a drop: on a shared 2-core box a CPU-starved process stalls for tens
// of milliseconds. And it must stay well under one timeline second, so that
// the offered shape survives and a drop lands in its own second. A drop then
// means the client really ran out of concurrency (raise MaxInFlight).
const DefaultDropAfter = 100 * time.Millisecond

// Plan describes one open-loop run.
type Plan struct {
	// Rate is the offered load in requests per second at each moment since
	// the start; phases and spikes are just functions of time (see Phases).
	Rate        func(elapsed time.Duration) float64
	Duration    time.Duration
	MaxInFlight int        // bound on concurrent logical requests (workers)
	Mix         []Weighted // chosen per request by a RNG seeded with Seed
	// Weights, if set, gives the mix's weights at each moment since the
	// start, one per Mix entry in order; a nil result means Mix's own. A
	// traffic fault that changes who sends (a bot joins a spike) uses it.
	// A result of the wrong length, with a negative weight or summing to
	// zero stops the run with an error.
	Weights func(elapsed time.Duration) []int
	Policy  Policy // client policy for entries without their own
	Seed    int64
	// UntilCancelled schedules requests until Run's context is cancelled
	// instead of for Duration, which must then be zero. Rate must not stay
	// at zero for good: the scheduler walks through a stretch without
	// requests before it looks at the context again.
	UntilCancelled bool
	// DropAfter bounds the wait for a free worker, counted from when the
	// request became due to the scheduler; 0 = DefaultDropAfter.
	DropAfter time.Duration
	// OnResult, if set, is called from the workers, concurrently, with every
	// sent request's result. It should be quick: a worker is busy meanwhile.
	OnResult func(Result)
	// OnSecond, if set, is called once per scheduled second, in order, from
	// one goroutine, with that second's summary so far (live console). It
	// never holds up the schedule.
	OnSecond func(Second)
}

// Validate reports every problem with the plan at once.
func (p Plan) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("loadgen: plan: "+format, args...)) }
	if p.Rate == nil {
		bad("Rate is nil")
	}
	switch {
	case p.UntilCancelled && p.Duration != 0:
		bad("Duration (%v) and UntilCancelled both set", p.Duration)
	case !p.UntilCancelled && p.Duration <= 0:
		bad("Duration must be > 0 (or UntilCancelled set), got %v", p.Duration)
	}
	if p.MaxInFlight < 1 {
		bad("MaxInFlight must be >= 1, got %d", p.MaxInFlight)
	}
	if p.DropAfter < 0 {
		bad("DropAfter is negative (%v)", p.DropAfter)
	}
	if len(p.Mix) == 0 {
		bad("Mix is empty")
	}
	names := map[string]bool{}
	for i, w := range p.Mix {
		if w.Op == nil {
			bad("Mix[%d].Op is nil", i)
			continue
		}
		name := w.Op.Name()
		if names[name] {
			bad("op name %q appears twice in Mix: the timeline could not tell them apart", name)
		}
		names[name] = true
		if w.Weight <= 0 {
			bad("Mix[%d] (%s) needs Weight > 0, got %d", i, name, w.Weight)
		}
		if v, ok := w.Op.(validator); ok {
			if err := v.Validate(); err != nil {
				errs = append(errs, err)
			}
		}
		if w.Policy != nil {
			if err := w.Policy.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("Mix[%d] (%s): %w", i, name, err))
			}
		}
	}
	if err := p.Policy.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (p Plan) dropAfter() time.Duration {
	if p.DropAfter == 0 {
		return DefaultDropAfter
	}
	return p.DropAfter
}

// forever is the schedule's end with UntilCancelled: never reached (146
// years), and far enough below the largest Duration that rounding it up to
// whole seconds does not overflow.
const forever = time.Duration(1 << 62)

// end is when the schedule ends.
func (p Plan) end() time.Duration {
	if p.UntilCancelled {
		return forever
	}
	return p.Duration
}
