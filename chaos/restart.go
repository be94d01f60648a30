package chaos

import (
	"context"

	"github.com/whatif-lab/whatif/compose"
)

// Restart is a crash-and-restart: Inject SIGKILLs svc and starts it again,
// returning once it is healthy, so the fault is the outage window and the
// lost in-memory state. Recover only retries Start if Inject did not
// finish it.
func Restart(c compose.Controller, svc string) Fault {
	p := &processFault{verb: "restart", c: c, svc: svc}
	p.inject = func(ctx context.Context) error {
		if err := c.Kill(ctx, svc); err != nil {
			return err
		}
		if err := c.Start(ctx, svc); err != nil {
			return err
		}
		p.pending = false // back up, nothing left to recover (Inject holds p.mu)
		return nil
	}
	p.recover = func(ctx context.Context) error { return c.Start(ctx, svc) }
	return p
}
