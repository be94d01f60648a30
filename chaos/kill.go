package chaos

import (
	"context"
	"fmt"

	"github.com/whatif-lab/whatif/compose"
)

// Kill SIGKILLs every process of svc; Recover launches it again and
// returns at once (Settled waits until it is healthy). Recover launches it
// after any attempted Kill, even a failed one, since part of the tree may
// be dead.
func Kill(c compose.Controller, svc string) Settling {
	p := &processFault{verb: "kill", c: c, svc: svc}
	p.inject = func(ctx context.Context) error { return c.Kill(ctx, svc) }
	p.recover = func(ctx context.Context) error { return c.Launch(ctx, svc) }
	return killFault{p}
}

type killFault struct{ *processFault }

// Settled waits until the restarted service answers its health check.
func (k killFault) Settled(ctx context.Context) error {
	if err := k.c.AwaitHealthy(ctx, k.svc); err != nil {
		return fmt.Errorf("%s: not back: %w", k.Name(), err)
	}
	return nil
}
