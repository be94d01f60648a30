package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 7: app servers run out of memory. Two API instances behind
// HAProxy, each under a 256 MiB limit enforced by the kernel (a cgroup
// locally, the container's limit under Docker) and restarted when they die.
const (
	oomRate      = 40 // exports/s at normal load
	oomPeak      = 10 // peak = 10x normal
	oomExportIDs = 1000
	oomBulkKB    = 64 << 10 // an oversized export: 64 MiB
	oomSyncKB    = 1 << 10  // a partner's per-customer export: 1 MiB, the most the payload cap lets through
	oomBulkShare = 0.075    // each fault client's rate, as a share of the run's
	oomTimeout   = 2 * time.Second
	oomBulkWait  = 10 * time.Second
	oomMemShare  = 0.70 // the seed's scale-out line: stay below 70% of the limit
)

var appOOM = Experiment{
	Name:     "app-oom",
	Title:    "App server memory exhaustion (OOM)",
	Scenario: 7,
	Shows: "Two API instances behind HAProxy (health checks every 500 ms), each under a 256 MiB memory limit " +
		"the kernel enforces, restarted by their supervisor when they die. Clients ask for exports (16-64 KiB, " +
		"kept in an in-process cache). The fault: two clients join, a bulk-export client asking for 64 MiB exports " +
		"and a partner's sync job asking each of its customers' 1 MiB export once. Unprotected (unbounded cache, no " +
		"payload cap): every export is built and kept, memory climbs to the limit, the OOM killer ends the instance " +
		"with its requests in flight, the load balancer sends everything to the survivor, which dies too; " +
		"restarted instances die again while the clients keep asking (crash-loop). Protected (byte-capped cache, " +
		"413 above 1 MiB): memory stays below 70% of the limit, no restarts, clients see no errors. Each protection " +
		"alone is needed at 10x: without the cap the bulk exports are built, without the bound the sync job's " +
		"exports accumulate (the seed's leak, faster under load).",
	Services: []string{compose.SvcHAProxy}, // its load balancer
	Load: Load{
		Rate:        oomRate,
		PeakFactor:  oomPeak,
		MaxInFlight: 1000,
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: exportReads(e), Weight: 1}}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: oomTimeout} },
	},
	Instances:  compose.AppInstances,
	Requires:   []compose.Capability{compose.MemoryLimits, compose.RestartCounts},
	Mitigation: []string{"cache_bound", "payload_cap"},
	Phases:     Phases{Baseline: 40 * time.Second, Fault: 60 * time.Second, Recovery: 40 * time.Second},
	Fault: func(e *Env) chaos.Fault {
		rate := float64(oomRate)
		if e.Level == Peak {
			rate *= oomPeak
		}
		return &bulkExports{e: e, rate: max(1, oomBulkShare*rate)}
	},
	Prepare: recordRestarts,
	Audit:   auditRestarts,
	Watch:   []string{"app0.export.built", "app1.export.built", "app0.export.rejected", "app1.export.rejected"},
	Gauges:  []string{"app0.mem.usage_bytes", "app1.mem.usage_bytes"},
	Cascade: []Check{
		// the survivor dies too: both instances went down and came back
		AtLeast("instances killed and restarted", Fact("instances_restarted"), 2, Count),
		// crash-loop: more deaths than instances — a restarted one died again
		AtLeast("restarts", Fact("restarts"), 3, Count),
		// the kernel did it, not a crash of ours (backends that know)
		AtLeast("OOM kills", Fact("oom_kills"), 2, Count),
		// At normal load a few requests are in flight when an instance dies
		// and HAProxy retries refused connections on the other one, so
		// users barely notice; at 10x they are dropped by the dozen and both
		// instances are down at once.
		AtPeak(AtLeast("export error rate during the fault", ErrorRate(Faulted, "export"), 0.20, Percent)),
	},
	Holds: []Check{
		AtMost("peak memory of the busiest instance / its limit", Measure(instancePeakShare), oomMemShare, Percent),
		AtMost("restarts", Fact("restarts"), 0, Count),
		AtMost("export error rate during the fault", ErrorRate(Faulted, "export"), 0.01, Percent),
	},
}

// exportReads is GET /exports/{zipf id}?kb=16|32|64 through the load
// balancer; an id always has the same size, so a cached export is reused.
func exportReads(e *Env) loadgen.Op {
	z, err := loadgen.NewZipf(oomExportIDs, itemZipfS, 7)
	if err != nil {
		panic(err) // constants above are valid; this cannot happen
	}
	lb := "http://" + e.Stack.ClientAddr(compose.SvcHAProxy, "apps")
	return &loadgen.HTTPOp{
		OpName: "export",
		Client: e.HTTP,
		URL: func(uint64) (string, string) {
			id := z.Next()
			return fmt.Sprintf("%s/exports/%d?kb=%d", lb, id, 16<<(id%3)), fmt.Sprint(id)
		},
	}
}

// bulkExports is the fault: two more clients, each at rate req/s, asking
// for exports never asked before: a bulk client's oversized ones and a
// partner's sync job's 1 MiB ones (within the payload cap, so only the
// cache's bound stops them piling up). Their requests are their own load
// run, so the run's client figures are the regular users'; what these
// clients saw is recorded as facts.
type bulkExports struct {
	e    *Env
	rate float64

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	tl     *loadgen.Timeline
	err    error
}

func (b *bulkExports) Name() string {
	return fmt.Sprintf("bulk exports of %d MiB and sync exports of %d MiB, each at %.0f/s", oomBulkKB>>10, oomSyncKB>>10, b.rate)
}

func (b *bulkExports) Inject(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancel != nil {
		return nil
	}
	lb := "http://" + b.e.Stack.ClientAddr(compose.SvcHAProxy, "apps")
	hc := loadgen.NewHTTPClient(256)
	run := time.Now().UnixNano() % 1e9
	fresh := func(name string, base int64, kb int) loadgen.Op {
		return &loadgen.HTTPOp{
			OpName: name,
			Client: hc,
			URL: func(seq uint64) (string, string) {
				id := base + run*1_000_000 + int64(seq) // never asked before
				return fmt.Sprintf("%s/exports/%d?kb=%d", lb, id, kb), fmt.Sprint(id)
			},
		}
	}
	plan := loadgen.Plan{
		Rate:           func(time.Duration) float64 { return 2 * b.rate },
		UntilCancelled: true, // until Recover
		MaxInFlight:    256,
		Mix: []loadgen.Weighted{
			{Op: fresh("bulk-export", 1<<60, oomBulkKB), Weight: 1},
			{Op: fresh("sync-export", 1<<61, oomSyncKB), Weight: 1},
		},
		Policy: loadgen.Policy{Timeout: oomBulkWait},
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	b.cancel, b.done = cancel, make(chan struct{})
	go func() {
		defer close(b.done)
		defer hc.CloseIdleConnections()
		b.tl, b.err = loadgen.Run(lctx, plan)
	}()
	return nil
}

func (b *bulkExports) Recover(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancel == nil {
		return nil
	}
	b.cancel()
	select {
	case <-b.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.cancel = nil
	if b.tl == nil {
		return fmt.Errorf("bulk client: %v", b.err)
	}
	for _, c := range []struct{ op, fact string }{{"bulk-export", "bulk"}, {"sync-export", "sync"}} {
		s := b.tl.Window(0, b.tl.Duration(), c.op)
		b.e.Run.SetFact(c.fact+".completed", float64(s.Completed))
		b.e.Run.SetFact(c.fact+".ok", float64(s.OK))
		if s.Completed > 0 {
			b.e.Run.SetFact(c.fact+".ok_share", float64(s.OK)/float64(s.Completed))
			b.e.Run.SetFact(c.fact+".refused_share", float64(s.Codes[http.StatusRequestEntityTooLarge])/float64(s.Completed))
		}
	}
	return nil
}

// restartCounter is the stack's restart counts, when the backend has them.
func restartCounter(e *Env) (compose.RestartCounter, error) {
	rc, ok := e.Stack.Controller().(compose.RestartCounter)
	if !ok {
		return nil, fmt.Errorf("this backend does not report restarts")
	}
	return rc, nil
}

// recordRestarts checks that every instance runs under its memory limit
// and notes the restart counts the run starts from.
func recordRestarts(ctx context.Context, e *Env) error {
	rc, err := restartCounter(e)
	if err != nil {
		return err
	}
	for _, svc := range compose.AppInstances {
		nums, _, err := e.Instance(svc).Stats(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
		if lim := nums["mem.limit_bytes"]; lim <= 0 {
			return fmt.Errorf("%s runs without a memory limit (its log says why), so nothing here could kill it", svc)
		}
		r, err := rc.Restarts(ctx, svc)
		if err != nil {
			return err
		}
		e.Run.SetFact(svc+".restarts_before", float64(r.Restarts))
		e.Run.SetFact(svc+".oom_kills_before", float64(r.OOMKills))
	}
	return nil
}

// auditRestarts counts the restarts and OOM kills of the run.
func auditRestarts(ctx context.Context, e *Env, _ *Run) error {
	rc, err := restartCounter(e)
	if err != nil {
		return err
	}
	var restarts, restarted, ooms float64
	oomsKnown := true
	for _, svc := range compose.AppInstances {
		r, err := rc.Restarts(ctx, svc)
		if err != nil {
			return err
		}
		// recorded by Prepare (recordRestarts): a missing one is a bug, not 0
		before, err := e.Run.Fact(svc + ".restarts_before")
		if err != nil {
			return err
		}
		oomBefore, err := e.Run.Fact(svc + ".oom_kills_before")
		if err != nil {
			return err
		}
		d := float64(r.Restarts) - before
		restarts += d
		if d > 0 {
			restarted++
		}
		if r.OOMKills < 0 || oomBefore < 0 {
			oomsKnown = false
		} else {
			ooms += float64(r.OOMKills) - oomBefore
		}
	}
	e.Run.SetFact("restarts", restarts)
	e.Run.SetFact("instances_restarted", restarted)
	if oomsKnown {
		e.Run.SetFact("oom_kills", ooms)
	}
	return nil
}

// instancePeakShare is the highest memory use any instance reported during
// the run, over its limit. Each instance polls its own use every 100 ms,
// so a climb between two samples is not missed.
func instancePeakShare(r *Run) (float64, error) {
	worst, seen := 0.0, false
	for _, s := range r.Samples {
		for _, svc := range compose.AppInstances {
			peak, lim := s.Values[svc+".mem.peak_bytes"], s.Values[svc+".mem.limit_bytes"]
			if lim > 0 {
				worst, seen = max(worst, peak/lim), true
			}
		}
	}
	if !seen {
		return 0, ErrNoData
	}
	return worst, nil
}
