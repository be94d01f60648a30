package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// State is where a guarded fault is in its lifecycle.
type State int32

const (
	// Idle: nothing injected; Inject is allowed.
	Idle State = iota
	// Active: Inject succeeded; Recover is allowed.
	Active
	// Failed: an Inject or Recover returned an error, so the fault may be
	// partly in place. Only Recover (or Close) is allowed; it retries.
	Failed
	// Closed: Close recovered everything; the guard refuses new injects.
	Closed
)

func (s State) String() string {
	switch s {
	case Idle:
		return "idle"
	case Active:
		return "active"
	case Failed:
		return "failed"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

var (
	// ErrState is returned for an operation the current state forbids.
	ErrState = errors.New("chaos: operation not allowed in this state")
	// ErrClosed is returned by Inject after Close.
	ErrClosed = errors.New("chaos: guard closed")
)

// Guard wraps a Fault in the state machine idle → active → idle, so a
// runner cannot inject twice or recover what it never injected, and Close
// always leaves the system recovered whatever happened before. A Guard is
// itself a Fault and is safe for concurrent use: operations are serialized.
type Guard struct {
	f      Fault
	op     sync.Mutex   // serializes Inject/Recover/Close
	state  atomic.Int32 // readable while an operation runs
	closed bool         // guarded by op
}

// NewGuard guards f.
func NewGuard(f Fault) *Guard { return &Guard{f: f} }

// Name is the guarded fault's name.
func (g *Guard) Name() string { return g.f.Name() }

// State reports the current state without waiting for a running operation.
func (g *Guard) State() State { return State(g.state.Load()) }

func (g *Guard) set(s State) { g.state.Store(int32(s)) }

// Inject injects the fault; allowed only from Idle. A failed Inject leaves
// the guard Failed, because the fault may be partly in place.
func (g *Guard) Inject(ctx context.Context) error {
	g.op.Lock()
	defer g.op.Unlock()
	if g.closed {
		return fmt.Errorf("inject %s: %w", g.Name(), ErrClosed)
	}
	if s := g.State(); s != Idle {
		return fmt.Errorf("inject %s while %s: %w", g.Name(), s, ErrState)
	}
	if err := g.f.Inject(ctx); err != nil {
		g.set(Failed)
		return fmt.Errorf("inject %s: %w", g.Name(), err)
	}
	g.set(Active)
	return nil
}

// Recover undoes the fault; allowed from Active or Failed. A failed
// Recover leaves the guard Failed so that the next Recover or Close retries.
func (g *Guard) Recover(ctx context.Context) error {
	g.op.Lock()
	defer g.op.Unlock()
	s := g.State()
	if s != Active && s != Failed {
		return fmt.Errorf("recover %s while %s: %w", g.Name(), s, ErrState)
	}
	return g.recover(ctx, Idle)
}

// Close recovers an active or partly injected fault and refuses later
// injects. It is safe to call any number of times; after a failed
// recovery, the next Close tries again.
func (g *Guard) Close(ctx context.Context) error {
	g.op.Lock()
	defer g.op.Unlock()
	g.closed = true
	switch g.State() {
	case Active, Failed:
		return g.recover(ctx, Closed)
	}
	g.set(Closed)
	return nil
}

// recover runs the fault's Recover; op must be held.
func (g *Guard) recover(ctx context.Context, next State) error {
	if err := g.f.Recover(ctx); err != nil {
		g.set(Failed)
		return fmt.Errorf("recover %s: %w", g.Name(), err)
	}
	g.set(next)
	return nil
}
