// Package chaos is the fault plane: faults that break one link or one
// process and undo exactly what they did. A fault never sleeps and never
// logs; the runner owns time and reporting.
package chaos

import (
	"context"
	"fmt"
)

// Fault is one symmetric break of the system under test.
type Fault interface {
	Name() string
	Inject(ctx context.Context) error
	// Recover undoes Inject. It must be safe after a failed or partial
	// Inject and idempotent, because teardown paths call it blindly.
	Recover(ctx context.Context) error
}

// Settling is a fault whose recovery takes time to land (a restarted
// service must answer again, a failover must finish). Recover returns at
// once; the runner owns the wait and calls Settled before it measures the
// recovery.
type Settling interface {
	Fault
	Settled(ctx context.Context) error
}

// Func builds a Fault from two functions, for one-off faults an experiment
// needs (an admin call, a config flip). The functions carry the Fault
// contract: recover must be idempotent and safe after a failed inject.
func Func(name string, inject, recover func(ctx context.Context) error) Fault {
	return funcFault{name: name, inject: inject, recover: recover}
}

type funcFault struct {
	name            string
	inject, recover func(ctx context.Context) error
}

func (f funcFault) Name() string { return f.name }

func (f funcFault) Inject(ctx context.Context) error {
	if f.inject == nil {
		return fmt.Errorf("chaos: %s: no inject function", f.name)
	}
	return f.inject(ctx)
}

func (f funcFault) Recover(ctx context.Context) error {
	if f.recover == nil {
		return nil
	}
	return f.recover(ctx)
}
