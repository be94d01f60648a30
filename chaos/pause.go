package chaos

import (
	"context"

	"github.com/whatif-lab/whatif/compose"
)

// Pause SIGSTOPs every process of svc (a hung process: its sockets stay
// open but nothing answers); Recover SIGCONTs them.
func Pause(c compose.Controller, svc string) Fault {
	p := &processFault{verb: "pause", c: c, svc: svc}
	p.inject = func(ctx context.Context) error { return c.Pause(ctx, svc) }
	p.recover = func(ctx context.Context) error { return c.Resume(ctx, svc) }
	return p
}
