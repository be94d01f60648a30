package chaos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
)

// Blackhole makes a link behave like the path to a host that vanished:
// nothing in flight gets through (a timeout toxic, both ways) and a new
// connection is accepted by the proxy but never answered. The latter needs
// more than a toxic: Toxiproxy dials the upstream for every new client and
// closes the client at once when that dial is refused — which is what a
// killed process on a live host looks like, not a dead host. So while
// injected the proxy's upstream is a tarpit that accepts and never reads.
//
// The tarpit listens on this process's loopback, which only a Toxiproxy
// on the same machine can reach: for a link whose upstream is not on
// loopback (containers) only the toxic applies, and Silent says so.
func Blackhole(tp *Toxiproxy, link string) (*BlackholeFault, error) {
	t, err := Timeout(tp, link, Both, 0)
	if err != nil {
		return nil, err
	}
	return &BlackholeFault{tp: tp, link: link, stall: t}, nil
}

// BlackholeFault is the Fault Blackhole returns.
type BlackholeFault struct {
	tp    *Toxiproxy
	link  string
	stall Fault

	mu       sync.Mutex
	upstream string // the link's own upstream, while the tarpit replaces it
	pit      *tarpit
}

func (b *BlackholeFault) Name() string { return "blackhole " + b.link }

// Silent reports whether new connections hang too (the tarpit is in place).
func (b *BlackholeFault) Silent() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pit != nil
}

func (b *BlackholeFault) Inject(ctx context.Context) error {
	if err := b.stall.Inject(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pit != nil {
		return nil
	}
	p, err := b.tp.proxy(ctx, b.link)
	if err != nil {
		return fmt.Errorf("%s: %w", b.Name(), err)
	}
	if !strings.HasPrefix(p.Upstream, "127.0.0.1:") {
		return nil // not reachable from the proxy's side: the toxic alone
	}
	pit, err := newTarpit()
	if err != nil {
		return fmt.Errorf("%s: %w", b.Name(), err)
	}
	orig := p.Upstream
	p.Upstream = pit.addr()
	if err := p.Save(); err != nil {
		pit.close()
		return fmt.Errorf("%s: %w", b.Name(), err)
	}
	b.upstream, b.pit = orig, pit
	return nil
}

func (b *BlackholeFault) Recover(ctx context.Context) error {
	var errs []error
	b.mu.Lock()
	if b.pit != nil {
		p, err := b.tp.proxy(ctx, b.link)
		switch {
		case isNotFound(err):
		case err != nil:
			errs = append(errs, err)
		default:
			p.Upstream = b.upstream
			errs = append(errs, p.Save())
		}
		if err := errors.Join(errs...); err == nil {
			b.pit.close()
			b.pit = nil
		}
	}
	b.mu.Unlock()
	errs = append(errs, b.stall.Recover(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("recover %s: %w", b.Name(), err)
	}
	return nil
}

// tarpit accepts connections and never reads or answers them.
type tarpit struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

func newTarpit() (*tarpit, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &tarpit{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.mu.Lock()
			t.conns = append(t.conns, c)
			t.mu.Unlock()
		}
	}()
	return t, nil
}

func (t *tarpit) addr() string { return t.ln.Addr().String() }

func (t *tarpit) close() {
	t.ln.Close()
	select {
	case <-t.done:
	case <-time.After(time.Second):
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		c.Close()
	}
	t.conns = nil
}
