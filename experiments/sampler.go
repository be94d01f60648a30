package experiments

import (
	"context"
	"time"

	"github.com/whatif-lab/whatif/experiments/operator"
)

// sampler reads the API's counters once a second, aligned to the load's
// clock, so counter rates line up with the client's per-second buckets.
type sampler struct {
	admin     *operator.API
	instances map[string]*operator.API // sampled under "<service>."
	start     time.Time
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
		// An instance that does not answer (killed, restarting) leaves its
		// keys out of this sample: a gap, never a zero.
		for svc, a := range s.instances {
			in, it, err := a.Stats(c)
			if err != nil {
				continue
			}
			for k, v := range in {
				nums[svc+"."+k] = v
			}
			for k, v := range it {
				texts[svc+"."+k] = v
			}
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
