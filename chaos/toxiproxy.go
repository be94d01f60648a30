package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Toxiproxy talks to one Toxiproxy HTTP API. Link faults are built on it.
//
// The upstream client takes no context: every call checks ctx before it
// starts and is otherwise bounded by the client's own 30 s HTTP timeout.
type Toxiproxy struct {
	url    string
	c      *toxiclient.Client
	tarpit string // a tarpit the server can reach; "" = none of its own
}

// NewToxiproxy returns a helper for the API at url ("http://127.0.0.1:8474"
// or "127.0.0.1:8474").
func NewToxiproxy(url string) *Toxiproxy {
	c := toxiclient.NewClient(url)
	c.UserAgent = "whatif-chaos"
	return &Toxiproxy{url: url, c: c}
}

// WithTarpit tells the helper that addr, as the Toxiproxy server dials
// it, is a tarpit (ListenTarpit) beside the server: Blackhole points links
// there. It returns t.
func (t *Toxiproxy) WithTarpit(addr string) *Toxiproxy {
	t.tarpit = addr
	return t
}

// URL is the API address the helper was made with.
func (t *Toxiproxy) URL() string { return t.url }

// Proxy is one Toxiproxy proxy (one link) as the API reports it.
type Proxy struct {
	Name     string
	Listen   string
	Upstream string
	Enabled  bool
	Toxics   []Toxic
}

// Toxic is one toxic on a proxy.
type Toxic struct {
	Name     string
	Type     string
	Stream   string // "upstream" or "downstream"
	Toxicity float32
}

// Proxies lists every proxy with its toxics, sorted by name.
func (t *Toxiproxy) Proxies(ctx context.Context) ([]Proxy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m, err := t.c.Proxies()
	if err != nil {
		return nil, fmt.Errorf("chaos: list proxies at %s: %w", t.url, err)
	}
	out := make([]Proxy, 0, len(m))
	for _, p := range m {
		q := Proxy{Name: p.Name, Listen: p.Listen, Upstream: p.Upstream, Enabled: p.Enabled}
		for _, x := range p.ActiveToxics {
			q.Toxics = append(q.Toxics, Toxic{Name: x.Name, Type: x.Type, Stream: x.Stream, Toxicity: x.Toxicity})
		}
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ResetAll removes every toxic and enables every proxy, then checks that
// nothing is left, so a run never starts on a link an earlier run broke.
func (t *Toxiproxy) ResetAll(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := t.c.ResetState(); err != nil {
		return fmt.Errorf("chaos: reset %s: %w", t.url, err)
	}
	ps, err := t.Proxies(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range ps {
		if !p.Enabled || len(p.Toxics) > 0 {
			errs = append(errs, fmt.Errorf("chaos: proxy %s still broken after reset (enabled=%v, %d toxics)", p.Name, p.Enabled, len(p.Toxics)))
		}
	}
	return errors.Join(errs...)
}

// proxy fetches one proxy, bound to the client so it can be changed.
func (t *Toxiproxy) proxy(ctx context.Context, name string) (*toxiclient.Proxy, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return t.c.Proxy(name)
}

// isNotFound reports a 404 from the API: the proxy or toxic is gone, which
// for Recover means there is nothing left to undo.
func isNotFound(err error) bool {
	var ae *toxiclient.ApiError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}
