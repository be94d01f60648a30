package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Blackhole makes a link behave like the path to a host that vanished:
// nothing in flight gets through (a timeout toxic, both ways) and a new
// connection is accepted by the proxy but never answered. The latter needs
// more than a toxic: Toxiproxy dials the upstream for every new client and
// closes the client at once when that dial is refused — which is what a
// killed process on a live host looks like, not a dead host. So while
// injected the proxy's upstream is a tarpit that accepts and never reads.
//
// The tarpit is the Toxiproxy's own (Toxiproxy.WithTarpit: under compose
// it runs beside the server in its container) or else one this process
// serves on loopback, which only a Toxiproxy on the same machine can
// reach: with neither, only the toxic applies, and Silent says so.
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
	upstream string  // the link's own upstream, while the tarpit replaces it
	pit      *Tarpit // the tarpit this process serves for it, if any
}

func (b *BlackholeFault) Name() string { return "blackhole " + b.link }

// Silent reports whether new connections hang too (the tarpit is in place).
func (b *BlackholeFault) Silent() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.upstream != ""
}

func (b *BlackholeFault) Inject(ctx context.Context) error {
	if err := b.stall.Inject(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.upstream != "" {
		return nil
	}
	p, err := b.tp.proxy(ctx, b.link)
	if err != nil {
		return fmt.Errorf("%s: %w", b.Name(), err)
	}
	var pit *Tarpit
	to := b.tp.tarpit
	if to == "" {
		if !strings.HasPrefix(p.Upstream, "127.0.0.1:") {
			return nil // no tarpit the proxy can reach: the toxic alone
		}
		if pit, err = ListenTarpit("127.0.0.1:0"); err != nil {
			return fmt.Errorf("%s: %w", b.Name(), err)
		}
		to = pit.Addr()
	}
	orig := p.Upstream
	p.Upstream = to
	if err := p.Save(); err != nil {
		if pit != nil {
			pit.Close()
		}
		return fmt.Errorf("%s: %w", b.Name(), err)
	}
	b.upstream, b.pit = orig, pit
	return nil
}

func (b *BlackholeFault) Recover(ctx context.Context) error {
	var errs []error
	b.mu.Lock()
	if b.upstream != "" {
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
			if b.pit != nil {
				b.pit.Close()
			}
			b.upstream, b.pit = "", nil
		}
	}
	b.mu.Unlock()
	errs = append(errs, b.stall.Recover(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("recover %s: %w", b.Name(), err)
	}
	return nil
}
