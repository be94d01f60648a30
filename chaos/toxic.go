package chaos

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Direction is which way of a link a toxic acts on. Upstream is
// client → dependency, Downstream is dependency → client.
type Direction string

const (
	Upstream   Direction = "upstream"
	Downstream Direction = "downstream"
	Both       Direction = "both" // one toxic per stream
)

func (d Direction) streams() ([]string, error) {
	switch d {
	case Upstream, Downstream:
		return []string{string(d)}, nil
	case Both:
		return []string{string(Upstream), string(Downstream)}, nil
	}
	return nil, fmt.Errorf("chaos: direction %q: want upstream, downstream or both", string(d))
}

// toxicFault adds one toxic per stream to a proxy. Its toxic names carry a
// random id, so Recover removes exactly what this fault added and never a
// toxic someone else put on the same link.
type toxicFault struct {
	tp      *Toxiproxy
	link    string
	typ     string // toxiproxy toxic type
	desc    string // parameters, for Name
	streams []string
	id      string
	attrs   toxiclient.Attributes
}

func newToxic(tp *Toxiproxy, link string, dir Direction, typ, desc string, attrs toxiclient.Attributes) (Fault, error) {
	if tp == nil {
		return nil, errors.New("chaos: " + typ + ": nil Toxiproxy")
	}
	if link == "" {
		return nil, errors.New("chaos: " + typ + ": empty link name")
	}
	streams, err := dir.streams()
	if err != nil {
		return nil, err
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return &toxicFault{tp: tp, link: link, typ: typ, desc: desc, streams: streams, id: hex.EncodeToString(b[:]), attrs: attrs}, nil
}

func (t *toxicFault) Name() string {
	dir := t.streams[0]
	if len(t.streams) > 1 {
		dir = string(Both)
	}
	return fmt.Sprintf("%s %s on %s (%s)", t.typ, t.desc, t.link, dir)
}

func (t *toxicFault) toxicName(stream string) string {
	return "whatif_" + t.typ + "_" + stream + "_" + t.id
}

func (t *toxicFault) Inject(ctx context.Context) error {
	p, err := t.tp.proxy(ctx, t.link)
	if err != nil {
		return fmt.Errorf("%s: %w", t.Name(), err)
	}
	for _, s := range t.streams {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := p.AddToxic(t.toxicName(s), t.typ, s, 1, t.attrs); err != nil {
			return fmt.Errorf("%s: %w", t.Name(), err)
		}
	}
	return nil
}

// Recover removes this fault's toxics; one already gone is fine. It tries
// every stream even if one fails, so one stuck toxic does not keep the
// other in place.
func (t *toxicFault) Recover(ctx context.Context) error {
	p, err := t.tp.proxy(ctx, t.link)
	if isNotFound(err) {
		return nil // no proxy, no toxic
	}
	if err != nil {
		return fmt.Errorf("recover %s: %w", t.Name(), err)
	}
	var errs []error
	for _, s := range t.streams {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := p.RemoveToxic(t.toxicName(s)); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("recover %s: %w", t.Name(), err))
		}
	}
	return errors.Join(errs...)
}

// millis converts d to the whole milliseconds the API takes, refusing a
// negative or fractional value rather than silently rounding it.
func millis(what string, d time.Duration) (int64, error) {
	if d < 0 {
		return 0, fmt.Errorf("chaos: %s %v is negative", what, d)
	}
	if d%time.Millisecond != 0 {
		return 0, fmt.Errorf("chaos: %s %v is not a whole number of milliseconds", what, d)
	}
	return d.Milliseconds(), nil
}
