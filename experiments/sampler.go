package experiments

import (
	"context"
	"time"
)

// sampler reads the API's counters once a second, aligned to the load's
// clock, so counter rates line up with the client's per-second buckets.
type sampler struct {
	admin *apiAdmin
	start time.Time
}

func (s *sampler) run(ctx context.Context, con *console) []Sample {
	var out []Sample
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	take := func() {
		c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 800*time.Millisecond)
		defer cancel()
		at := time.Since(s.start)
		nums, texts, err := s.admin.Stats(c)
		if err != nil {
			return // a missing sample shows as a gap; rates use neighbours
		}
		smp := Sample{At: at, Values: nums, Text: texts}
		out = append(out, smp)
		con.sample(smp)
	}
	take()
	for {
		select {
		case <-ctx.Done():
			take()
			return out
		case <-tick.C:
			take()
		}
	}
}
