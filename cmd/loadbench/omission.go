package main

import (
	"context"
	"slices"
	"time"
)

// stallRun is one run of the coordinated-omission scenario.
type stallRun struct {
	Outcome  outcome
	From, To time.Duration // the stall, relative to the schedule's start
}

// runWithStall runs gen while the server stalls for stall, starting stallAt
// into the run.
func runWithStall(ctx context.Context, gen generator, l load, stallAt, stall time.Duration) (stallRun, error) {
	begin := time.Now()
	var (
		from, to time.Time
		serr     error
		done     = make(chan struct{})
	)
	go func() {
		defer close(done)
		t := time.NewTimer(time.Until(begin.Add(stallAt)))
		defer t.Stop()
		select {
		case <-t.C:
			from, to, serr = stallServer(l.URL, stall)
		case <-ctx.Done():
			serr = ctx.Err()
		}
	}()
	o, err := gen(ctx, l)
	<-done
	if err == nil {
		err = serr
	}
	return stallRun{Outcome: o, From: from.Sub(o.Start), To: to.Sub(o.Start)}, err
}

// trueLatencies are the latencies an exact open-loop measurement must
// report for this schedule and stall: a request scheduled at t inside
// [from, to) cannot be answered before to, so its latency is to-t; every
// other request is taken as instant (the server answers in well under a
// millisecond). Sorted.
func trueLatencies(rate int, d, from, to time.Duration) []time.Duration {
	lat := make([]time.Duration, int(float64(rate)*d.Seconds()))
	for k := range lat {
		t := time.Duration(k) * time.Second / time.Duration(rate)
		if t >= from && t < to {
			lat[k] = to - t
		}
	}
	slices.Sort(lat)
	return lat
}

// quantile uses HDR's rank rule: the round(q n)-th smallest value.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(max(int(q*float64(len(sorted))+0.5), 1), len(sorted))-1]
}
