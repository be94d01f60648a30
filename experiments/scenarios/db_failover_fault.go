package scenarios

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"golang.org/x/sync/errgroup"
)

// leaderFault kills or pauses whichever node leads when it is injected,
// and measures how long Patroni takes to promote the other one.
type leaderFault struct {
	e     *Env
	pause bool

	mu        sync.Mutex
	victim    string
	cut       []chaos.Fault // the dead host's links, blackholed
	proc      chaos.Fault   // the kill or pause of the leader's processes
	injected  time.Time
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

func (f *leaderFault) Name() string {
	if f.pause {
		return "pause-pg-leader"
	}
	return "kill-pg-leader"
}

func (f *leaderFault) Inject(ctx context.Context) error {
	v, err := operator.Leader(ctx, f.e.Topology)
	if err != nil {
		return err
	}
	ctl := f.e.Stack.Controller()
	if !f.pause {
		if err := f.crash(ctx, ctl, v); err != nil {
			return err
		}
	}
	if f.pause {
		f.proc = chaos.Pause(ctl, v)
	} else {
		f.proc = chaos.Kill(ctl, v)
	}
	err = f.proc.Inject(ctx)
	f.mu.Lock()
	f.victim, f.injected = v, time.Now()
	f.mu.Unlock()
	// what the audit reads back: the broken node, by its place in operator.PGNodes
	f.e.Run.SetFact(victimFact, float64(slices.Index(operator.PGNodes, v)))
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.stopWatch, f.watchDone = cancel, make(chan struct{})
	go f.watchPromotion(wctx, v)
	return nil
}

// crash makes the victim's host vanish before its processes are killed.
// A host dies at one instant; cutting its links and stopping its
// processes takes milliseconds, so the order decides which way the
// figures err. First the standby's link: the WAL still on its way there
// is gone with the host (the standby's lag, standbyDistance). Then a
// freeze of every process, so nothing more is acknowledged; commits a
// client saw acknowledged in between (~the freeze's signalling time,
// crash_freeze_seconds) count as lost too. The other order let the
// standby catch up for the ~25 ms the freeze and the cuts took. Then every
// other path goes silent, new connections included (chaos.Blackhole: a
// dead host does not answer RST the way a killed process on a live host
// does), and the kill follows (Inject).
func (f *leaderFault) crash(ctx context.Context, ctl compose.Controller, victim string) error {
	repl := []string{compose.ReplLink(victim)}
	var rest []string
	for _, l := range f.e.Topology.LinksTo(victim) {
		if l.Name != repl[0] {
			rest = append(rest, l.Name)
		}
	}
	t0 := time.Now()
	if err := f.cutLinks(ctx, repl); err != nil {
		return err
	}
	t1 := time.Now()
	if err := ctl.Pause(ctx, victim); err != nil {
		return fmt.Errorf("freezing %s: %w", victim, err)
	}
	t2 := time.Now()
	if err := f.cutLinks(ctx, rest); err != nil {
		return err
	}
	f.e.Run.SetFact("crash_standby_cut_seconds", t1.Sub(t0).Seconds())
	f.e.Run.SetFact("crash_freeze_seconds", t2.Sub(t1).Seconds())
	f.e.Run.SetFact("crash_cut_seconds", time.Since(t2).Seconds())
	return nil
}

// cutLinks blackholes the named links concurrently.
func (f *leaderFault) cutLinks(ctx context.Context, links []string) error {
	var g errgroup.Group
	for _, l := range links {
		c, err := chaos.Blackhole(f.e.Toxi, l)
		if err != nil {
			return err
		}
		f.cut = append(f.cut, c)
		g.Go(func() error {
			if err := c.Inject(ctx); err != nil {
				return fmt.Errorf("blackholing %s: %w", l, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// watchPromotion polls the surviving node until it reports primary.
func (f *leaderFault) watchPromotion(ctx context.Context, victim string) {
	defer close(f.watchDone)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		for _, n := range operator.PGNodes {
			if n != victim && operator.Role(ctx, f.e.Topology, n) == "primary" {
				f.mu.Lock()
				f.e.Run.SetFact(promotionFact, time.Since(f.injected).Seconds())
				f.mu.Unlock()
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *leaderFault) Recover(ctx context.Context) error {
	f.mu.Lock()
	v := f.victim
	f.mu.Unlock()
	if f.stopWatch != nil {
		// The one wait left in a fault: the broken leader comes back only
		// after the other node was seen promoted (15 s of grace), or a
		// paused leader resumed early would simply lead on, and the run
		// would show no failover at all.
		select {
		case <-f.watchDone:
		case <-time.After(15 * time.Second):
		case <-ctx.Done():
		}
		f.stopWatch()
	}
	if v == "" {
		return nil
	}
	for _, c := range f.cut {
		if c == nil {
			continue
		}
		if err := c.Recover(ctx); err != nil {
			return fmt.Errorf("restoring links of %s: %w", v, err)
		}
	}
	f.cut = nil
	return f.proc.Recover(ctx) // resume, or launch again
}

// Settled is the runner's wait after Recover: a killed leader must be back
// (as a replica, after pg_rewind) before recovery is measured.
func (f *leaderFault) Settled(ctx context.Context) error {
	if s, ok := f.proc.(chaos.Settling); ok {
		return s.Settled(ctx)
	}
	return nil
}

// Facts a leader fault records: which node it broke (its index in
// operator.PGNodes) and how long after the break the other node was primary (absent
// when no promotion was seen).
const (
	victimFact    = "victim_node"
	promotionFact = "promotion_seconds"
)
