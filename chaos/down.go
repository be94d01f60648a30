package chaos

import (
	"context"
	"errors"
	"fmt"
)

// Down disables the link's proxy: its open connections are closed and new
// dials are refused, as if the dependency's host vanished. Recover enables
// the proxy again; a proxy that no longer exists has nothing to undo.
func Down(tp *Toxiproxy, link string) (Fault, error) {
	if tp == nil {
		return nil, errors.New("chaos: down: nil Toxiproxy")
	}
	if link == "" {
		return nil, errors.New("chaos: down: empty link name")
	}
	return &down{tp: tp, link: link}, nil
}

type down struct {
	tp   *Toxiproxy
	link string
}

func (d *down) Name() string { return "down " + d.link }

func (d *down) Inject(ctx context.Context) error {
	p, err := d.tp.proxy(ctx, d.link)
	if err == nil {
		err = p.Disable()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", d.Name(), err)
	}
	return nil
}

func (d *down) Recover(ctx context.Context) error {
	p, err := d.tp.proxy(ctx, d.link)
	if isNotFound(err) {
		return nil
	}
	if err == nil && !p.Enabled {
		err = p.Enable()
	}
	if err != nil {
		return fmt.Errorf("recover %s: %w", d.Name(), err)
	}
	return nil
}
