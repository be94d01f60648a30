package local

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"time"

	"github.com/whatif-lab/whatif/compose"
)

// controller implements compose.Controller on a local stack.
type controller struct{ s *Stack }

var (
	_ compose.Controller     = controller{}
	_ compose.RestartCounter = controller{}
	_ compose.CPUWeighter    = controller{}
)

// service resolves svc for a Controller call.
func (c controller) service(svc string) (*service, error) {
	if c.s.ctx.Err() != nil {
		return nil, fmt.Errorf("local: %s: stack is stopped", svc)
	}
	if svc == compose.SvcToxiproxy {
		return nil, fmt.Errorf("local: toxiproxy is embedded in the runner; break its links with toxics instead")
	}
	sv, ok := c.s.svcs[svc]
	if !ok {
		if slices.Contains(c.s.cfg.Topology.ServiceNames(), svc) {
			return nil, fmt.Errorf("local: service %q is not running in this stack (Config.Only)", svc)
		}
		return nil, fmt.Errorf("local: unknown service %q", svc)
	}
	return sv, nil
}

// opDeadline bounds a signal operation by ctx, at most 15 s.
func opDeadline(ctx context.Context) time.Time {
	d := time.Now().Add(15 * time.Second)
	if cd, ok := ctx.Deadline(); ok && cd.Before(d) {
		return cd
	}
	return d
}

// Kill freezes the whole process tree of svc (for pg nodes: Patroni, the
// re-parented postmaster and its setsid'd backends), SIGKILLs it and waits
// until nothing of it runs.
func (c controller) Kill(ctx context.Context, svc string) error {
	sv, err := c.service(svc)
	if err != nil {
		return err
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.held = true // a killed service stays down until Start, whatever its restart policy
	sel := sv.selectorLocked()
	if err := killTree(sel, opDeadline(ctx)); err != nil {
		return fmt.Errorf("local: kill %s: %w", svc, err)
	}
	if p := sv.proc; p != nil {
		select {
		case <-p.done:
		case <-ctx.Done():
			return fmt.Errorf("local: kill %s: %w", svc, ctx.Err())
		}
	}
	return nil
}

// Pause SIGSTOPs every process of svc, re-scanning until all are stopped.
func (c controller) Pause(ctx context.Context, svc string) error {
	sv, err := c.service(svc)
	if err != nil {
		return err
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if _, err := freeze(sv.selectorLocked(), opDeadline(ctx)); err != nil {
		return fmt.Errorf("local: pause %s: %w", svc, err)
	}
	return nil
}

// Resume SIGCONTs every process of svc.
func (c controller) Resume(ctx context.Context, svc string) error {
	sv, err := c.service(svc)
	if err != nil {
		return err
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if _, err := signalAll(sv.selectorLocked(), syscall.SIGCONT); err != nil {
		return fmt.Errorf("local: resume %s: %w", svc, err)
	}
	return nil
}

// Start relaunches svc if its main process is gone (a pg node: Patroni,
// which restarts postgres and rejoins via pg_rewind by itself) and returns
// once it is healthy (a pg node: leader, or replica streaming WAL). On a service that still runs it only resumes it (so
// it is safe as a fault's Recover) and waits for health.
func (c controller) Start(ctx context.Context, svc string) error {
	if err := c.Launch(ctx, svc); err != nil {
		return err
	}
	return c.AwaitHealthy(ctx, svc)
}

// Launch starts svc's main process again if it is not running (and
// resumes it if it is stopped), without waiting for it.
func (c controller) Launch(ctx context.Context, svc string) error {
	sv, err := c.service(svc)
	if err != nil {
		return err
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.held = false
	if sv.proc != nil && !sv.proc.exited() {
		_, _ = signalAll(sv.selectorLocked(), syscall.SIGCONT)
	} else if err := c.s.launchLocked(sv); err != nil {
		return c.s.failure(sv.name, err)
	}
	return nil
}

// AwaitHealthy waits, at most StartTimeout, for svc's health check; it
// fails at once if the process it waits on exits.
func (c controller) AwaitHealthy(ctx context.Context, svc string) error {
	sv, err := c.service(svc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.s.cfg.StartTimeout)
	defer cancel()
	stop := context.AfterFunc(c.s.ctx, cancel) // Stop aborts the wait
	defer stop()
	sv.mu.Lock()
	p := sv.proc
	sv.mu.Unlock()
	check := func(ctx context.Context) error { _, err := sv.health(ctx); return err }
	if err := awaitHealthy(ctx, p, check); err != nil {
		return c.s.failure(sv.name, fmt.Errorf("start: %w", err))
	}
	return nil
}

// Restarts reports what svc's restart policy did, and the kernel's OOM
// kills in its memory cgroup (-1 without one).
func (c controller) Restarts(ctx context.Context, svc string) (compose.Restarts, error) {
	sv, err := c.service(svc)
	if err != nil {
		return compose.Restarts{}, err
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	r := compose.Restarts{Restarts: sv.restarts, OOMKills: -1}
	if sv.cg != nil {
		n, err := sv.cg.oomKills()
		if err != nil {
			return r, fmt.Errorf("local: %s: %w", svc, err)
		}
		r.OOMKills = n
	}
	return r, nil
}
