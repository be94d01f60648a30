package experiments

import (
	"sync"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// overlap remembers the requests the fault caught in flight: scheduled
// before it began, failed after. The weak-baseline yardstick leaves them
// out (a checkout waiting 3 s for a lock when the lock service dies fails
// because of the fault, not before it); the checks still see them.
type overlap struct {
	mu    sync.Mutex
	began time.Duration // when injecting began, from the run's start; 0: not yet
	at    []time.Duration
}

// faultBegins marks the moment the fault is injected.
func (o *overlap) faultBegins(at time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.began = at
}

// result notes res if it failed after the fault began and was scheduled
// before it; start is the run's start.
func (o *overlap) result(res loadgen.Result, start time.Time) {
	if res.OK() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.began == 0 {
		return
	}
	if sched := res.Scheduled.Sub(start); sched < o.began {
		o.at = append(o.at, sched)
	}
}

// within counts the noted requests scheduled in [from, to).
func (o *overlap) within(from, to time.Duration) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, t := range o.at {
		if t >= from && t < to {
			n++
		}
	}
	return n
}
