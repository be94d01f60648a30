package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/internal/clock"
)

// drainLimit bounds an audit's wait for a worker pool's groups to finish
// what was queued.
const drainLimit = 2 * time.Minute

// backlogDrained waits until the groups of the worker pool svc have
// finished their backlog (awaitDrained) and stores how long the last
// group, the slowest, took after the fault ended: facts drain_seconds,
// drain_per_fault (over the fault's length) and drained (0 when the wait
// gave up). It returns what is still behind ("" when drained) and the
// pool's stats at the end.
func backlogDrained(ctx context.Context, e *Env, r *Run, svc string, groups []string) (string, map[string]float64, error) {
	drained, behind, nums, err := awaitDrained(ctx, e, svc, groups)
	if err != nil {
		return "", nil, err
	}
	// from the fault's end to the first sample with nothing left, else to
	// the audit's own look
	slow := groups[len(groups)-1]
	end := drained
	for _, s := range r.Samples {
		if v, ok := s.Values[svc+".groups."+slow+".lag.records"]; ok && s.At >= r.RecoverAt && v == 0 {
			end = s.At
			break
		}
	}
	r.SetFact("drain_seconds", max(end-r.RecoverAt, 0).Seconds())
	r.SetFact("drain_per_fault", max(end-r.RecoverAt, 0).Seconds()/(r.RecoverAt-r.FaultAt).Seconds())
	if behind != "" {
		r.SetFact("drained", 0)
		return fmt.Sprintf("not drained %v after the load stopped (%s)", drainLimit, behind), nums, nil
	}
	r.SetFact("drained", 1)
	return "", nums, nil
}

// awaitDrained waits until each group's lag is 0 records in two looks in a
// row (the worker measures lag every 500 ms), and returns when, since the
// run's start, with the worker's stats then; after drainLimit it returns
// then, and the records each group is still behind.
func awaitDrained(ctx context.Context, e *Env, svc string, groups []string) (time.Duration, string, map[string]float64, error) {
	w := e.Worker(svc)
	deadline := time.Now().Add(drainLimit)
	calm := 0
	for {
		nums, _, err := w.Stats(ctx)
		if err == nil {
			left := slices.ContainsFunc(groups, func(g string) bool { return nums["groups."+g+".lag.records"] != 0 })
			if calm = calm + 1; left {
				calm = 0
			}
			if calm == 2 {
				return time.Since(e.Run.Start), "", nums, nil
			}
		}
		if time.Now().After(deadline) {
			if err != nil {
				return 0, "", nil, fmt.Errorf("%s stats: %w", svc, err)
			}
			behind := map[string]float64{}
			for _, g := range groups {
				behind[g] = nums["groups."+g+".lag.records"]
			}
			return time.Since(e.Run.Start), fmt.Sprintf("records behind: %v", behind), nums, nil
		}
		if !clock.Sleep(ctx, 500*time.Millisecond) {
			return 0, "", nil, ctx.Err()
		}
	}
}

// drainPerFault is how long the slowest group took to finish its backlog
// after the fault, over the fault's length; a backlog the audit did not
// see finish is a lower bound.
func drainPerFault(r *Run) (float64, error) {
	v, err := r.Fact("drain_per_fault")
	if err != nil {
		return 0, err
	}
	if done, _ := r.Fact("drained"); done == 0 {
		return 0, &Beyond{Value: v, Why: fmt.Sprintf("backlog not finished %v after the load stopped", drainLimit)}
	}
	return v, nil
}

// untilIncrease is how long after the fault the sum of counters keys
// first rose above its value at the fault (a run has the counters of the
// groups its protections start; the others read 0); never within the run
// is more than the samples after the fault span.
func untilIncrease(keys ...string) Measure {
	sum := func(v map[string]float64) (t float64) {
		for _, k := range keys {
			t += v[k]
		}
		return t
	}
	return func(r *Run) (float64, error) {
		at, ok := r.SampleAt(r.FaultAt)
		if !ok {
			return 0, fmt.Errorf("no sample at the fault")
		}
		for _, s := range r.Samples {
			if s.At > r.FaultAt && sum(s.Values) > sum(at.Values) {
				return (s.At - r.FaultAt).Seconds(), nil
			}
		}
		seen := 0.0
		if n := len(r.Samples); n > 0 {
			seen = (r.Samples[n-1].At - r.FaultAt).Seconds()
		}
		return 0, &Beyond{Value: seen, Why: fmt.Sprintf("%v never rose in the %.1fs sampled after the fault", keys, seen)}
	}
}

// putUpload is a warm-up upload to a worker's upload service: PUT body to
// url, stored and queued (201), or already queued (200).
func putUpload(ctx context.Context, e *Env, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("warm-up upload: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("warm-up upload: %s", resp.Status)
	}
	return nil
}

// relaunchWorker starts a killed worker-binary service again with the
// run's protections (of those listed), as its orchestrator would.
func relaunchWorker(ctx context.Context, e *Env, svc string, listed []string) error {
	c := e.Stack.Controller()
	if err := c.Launch(ctx, svc); err != nil {
		return fmt.Errorf("relaunching %s: %w", svc, err)
	}
	if err := c.AwaitHealthy(ctx, svc); err != nil {
		return fmt.Errorf("relaunching %s: %w", svc, err)
	}
	known, err := e.Worker(svc).Protections(ctx)
	if err != nil {
		return err
	}
	on := map[string]bool{}
	for _, p := range listed {
		if _, ok := known[p]; ok {
			on[p] = e.On(p)
		}
	}
	return e.Worker(svc).SetProtections(ctx, on)
}

// ackedIDs is the ids of the op's requests the system acknowledged: their
// keys, which are decimal ids (what names them in errors).
func ackedIDs(e *Env, op, what string) ([]int64, error) {
	acked := e.Ledger.Acked(op)
	ids := make([]int64, 0, len(acked))
	for _, res := range acked {
		id, err := strconv.ParseInt(res.Key, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s key %q: %w", what, res.Key, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}
