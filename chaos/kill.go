package chaos

import (
	"context"

	"github.com/whatif-lab/whatif/compose"
)

// Kill SIGKILLs every process of svc; Recover starts it again and returns
// once it is healthy. Recover calls Start after any attempted Kill, even a
// failed one, since part of the tree may be dead.
func Kill(c compose.Controller, svc string) Fault {
	p := &processFault{verb: "kill", c: c, svc: svc}
	p.inject = func(ctx context.Context) error { return c.Kill(ctx, svc) }
	p.recover = func(ctx context.Context) error { return c.Start(ctx, svc) }
	return p
}
