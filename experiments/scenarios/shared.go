package scenarios

// What two or more scenarios share: the load's ops (ops.go), the traffic
// spike (spike.go) and these.

import (
	"context"
	"fmt"
	"sync"
	"time"

	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/internal/clock"
)

// retryFor calls f until it succeeds or the time is up; the last error wins.
func retryFor(ctx context.Context, within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		if !clock.Sleep(ctx, 250*time.Millisecond) {
			return ctx.Err()
		}
	}
}

// dbCapacity is pool size / query cost, both read from the API, so the
// capacity the checks use is the one the system ran with.
func dbCapacity(r *Run) (float64, error) {
	cost, err := settingSeconds(r, "query_cost")
	if err != nil {
		return 0, err
	}
	pool := r.Samples[0].Values["pool.primary.max"]
	if pool <= 0 || cost <= 0 {
		return 0, ErrNoData
	}
	return pool / cost, nil
}

// settingSeconds is one of the API's duration settings, in seconds, as the
// API reported it in the run's first sample.
func settingSeconds(r *Run, name string) (float64, error) {
	if len(r.Samples) == 0 {
		return 0, ErrNoData
	}
	v, ok := r.Samples[0].Values["settings."+name+"_seconds"]
	if !ok {
		return 0, fmt.Errorf("%w: the API reported no %s setting", ErrNoData, name)
	}
	return v, nil
}

// counterIncrease is how much an API counter grew from the fault to the
// end of the run: with one expiry per run, the count per expiry.
func counterIncrease(key string) Measure {
	return func(r *Run) (float64, error) {
		a, okA := r.SampleAt(r.FaultAt.Truncate(time.Second))
		b, okB := r.SampleAt(r.End.Truncate(time.Second))
		va, ok1 := a.Values[key]
		vb, ok2 := b.Values[key]
		if !okA || !okB || !ok1 || !ok2 || b.At <= a.At {
			return 0, fmt.Errorf("no %s samples from the fault to the end", key)
		}
		return vb - va, nil
	}
}

// runBases holds each run's id base (unix seconds x 1e6 at its first use):
// a run's ids (payments, seats, customers) are base + sequence, so a
// request a previous run left in flight never stands in for one of this
// run's.
var runBases sync.Map // *Env -> int64

func runBase(e *Env) int64 {
	v, loaded := runBases.LoadOrStore(e, time.Now().Unix()*1_000_000)
	if !loaded {
		e.OnClose(func() { runBases.Delete(e) })
	}
	return v.(int64)
}
