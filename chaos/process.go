package chaos

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/whatif-lab/whatif/compose"
)

// processFault acts on one service through a compose.Controller. It
// remembers that Inject was attempted, so Recover undoes only what was
// tried and a second Recover is a no-op.
type processFault struct {
	verb    string
	c       compose.Controller
	svc     string
	inject  func(ctx context.Context) error
	recover func(ctx context.Context) error

	mu      sync.Mutex
	pending bool // Inject was attempted and not yet recovered
}

func (p *processFault) Name() string { return p.verb + " " + p.svc }

func (p *processFault) check() error {
	if p.c == nil {
		return errors.New("chaos: " + p.Name() + ": nil controller")
	}
	if p.svc == "" {
		return errors.New("chaos: " + p.verb + ": empty service name")
	}
	return nil
}

func (p *processFault) Inject(ctx context.Context) error {
	if err := p.check(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Pending before the call: a failed kill or pause may still have hit
	// part of the process tree.
	p.pending = true
	if err := p.inject(ctx); err != nil {
		return fmt.Errorf("%s: %w", p.Name(), err)
	}
	return nil
}

func (p *processFault) Recover(ctx context.Context) error {
	if err := p.check(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.pending {
		return nil
	}
	if err := p.recover(ctx); err != nil {
		return fmt.Errorf("recover %s: %w", p.Name(), err)
	}
	p.pending = false
	return nil
}
