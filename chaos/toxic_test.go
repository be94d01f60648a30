package chaos_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

// TestToxicValidation: bad parameters fail at construction, not at Inject.
func TestToxicValidation(t *testing.T) {
	tp := chaos.NewToxiproxy("127.0.0.1:1") // never called
	const l = "link"
	ms := time.Millisecond
	tests := []struct {
		name    string
		build   func() (chaos.Fault, error)
		wantErr bool
	}{
		{"latency ok", func() (chaos.Fault, error) { return chaos.Latency(tp, l, chaos.Both, 100*ms, 10*ms) }, false},
		{"latency negative", func() (chaos.Fault, error) { return chaos.Latency(tp, l, chaos.Both, -ms, 0) }, true},
		{"latency zero", func() (chaos.Fault, error) { return chaos.Latency(tp, l, chaos.Both, 0, 0) }, true},
		{"latency fractional ms", func() (chaos.Fault, error) { return chaos.Latency(tp, l, chaos.Both, 1500*time.Microsecond, 0) }, true},
		{"jitter negative", func() (chaos.Fault, error) { return chaos.Latency(tp, l, chaos.Both, 10*ms, -ms) }, true},
		{"jitter above latency", func() (chaos.Fault, error) { return chaos.Latency(tp, l, chaos.Both, 10*ms, 11*ms) }, true},
		{"bad direction", func() (chaos.Fault, error) { return chaos.Latency(tp, l, "sideways", 10*ms, 0) }, true},
		{"empty direction", func() (chaos.Fault, error) { return chaos.Latency(tp, l, "", 10*ms, 0) }, true},
		{"empty link", func() (chaos.Fault, error) { return chaos.Latency(tp, "", chaos.Both, 10*ms, 0) }, true},
		{"nil toxiproxy", func() (chaos.Fault, error) { return chaos.Latency(nil, l, chaos.Both, 10*ms, 0) }, true},
		{"timeout forever", func() (chaos.Fault, error) { return chaos.Timeout(tp, l, chaos.Both, 0) }, false},
		{"timeout negative", func() (chaos.Fault, error) { return chaos.Timeout(tp, l, chaos.Both, -ms) }, true},
		{"down ok", func() (chaos.Fault, error) { return chaos.Down(tp, l) }, false},
		{"down empty link", func() (chaos.Fault, error) { return chaos.Down(tp, "") }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.build()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !strings.Contains(f.Name(), l) {
				t.Errorf("Name() %q does not name the link", f.Name())
			}
		})
	}
}

// TestToxicRecoverIsRobust: Recover succeeds when there is nothing to undo.
func TestToxicRecoverIsRobust(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	lat := must(chaos.Latency(r.tp, r.link, chaos.Both, 50*time.Millisecond, 0))
	down := must(chaos.Down(r.tp, r.link))
	for _, f := range []chaos.Fault{lat, down} {
		if err := f.Recover(ctx); err != nil {
			t.Errorf("%s: recover before inject: %v", f.Name(), err)
		}
	}
	if err := lat.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.tp.ResetAll(ctx); err != nil { // someone else removed our toxics
		t.Fatal(err)
	}
	for range 2 {
		if err := lat.Recover(ctx); err != nil {
			t.Errorf("recover with toxics already gone: %v", err)
		}
	}
	if err := lat.Inject(ctx); err != nil {
		t.Fatalf("inject again after recover: %v", err)
	}
	if err := lat.Inject(ctx); err == nil {
		t.Error("inject on top of itself succeeded; want a conflict")
	}
	p, err := r.raw.Proxy(r.link)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []chaos.Fault{lat, down} {
		if err := f.Recover(ctx); err != nil {
			t.Errorf("%s: recover with the proxy gone: %v", f.Name(), err)
		}
	}
	if err := lat.Inject(ctx); err == nil {
		t.Error("inject on a missing proxy succeeded")
	}
}

// TestToxicsAreOwned: two faults on one link each remove only their own
// toxics.
func TestToxicsAreOwned(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	a := must(chaos.Latency(r.tp, r.link, chaos.Downstream, 10*time.Millisecond, 0))
	b := must(chaos.Latency(r.tp, r.link, chaos.Downstream, 20*time.Millisecond, 0))
	for _, f := range []chaos.Fault{a, b} {
		if err := f.Inject(ctx); err != nil {
			t.Fatal(err)
		}
	}
	before := r.toxics(t)
	if len(before) != 2 {
		t.Fatalf("%d toxics, want 2", len(before))
	}
	if err := a.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	after := r.toxics(t)
	if len(after) != 1 || !slices.ContainsFunc(before, func(x chaos.Toxic) bool { return x.Name == after[0].Name }) {
		t.Fatalf("after recovering one: %+v", after)
	}
	if err := b.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if tx := r.toxics(t); len(tx) != 0 {
		t.Fatalf("toxics left: %+v", tx)
	}
}

// TestResetAll: every toxic gone and every proxy enabled, whoever broke them.
func TestResetAll(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	faults := []chaos.Fault{
		must(chaos.Latency(r.tp, r.link, chaos.Both, time.Second, 0)),
		must(chaos.Timeout(r.tp, r.link, chaos.Upstream, 0)),
		must(chaos.Down(r.tp, r.link)),
	}
	for _, f := range faults {
		if err := f.Inject(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.tp.ResetAll(ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := r.tp.Proxies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || !ps[0].Enabled || len(ps[0].Toxics) != 0 {
		t.Fatalf("after reset: %+v", ps)
	}
	r.mustEcho(t)
}

// TestGuardedToxicClose: a guarded toxic fault left active is removed by
// Close, and the link works again.
func TestGuardedToxicClose(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	g := chaos.NewGuard(must(chaos.Timeout(r.tp, r.link, chaos.Both, 0)))
	if err := g.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := echo(r.dial(t), []byte("x"), 200*time.Millisecond); !isTimeout(err) {
		t.Fatalf("want a stall, got %v", err)
	}
	if err := g.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if g.State() != chaos.Closed {
		t.Fatalf("state %v", g.State())
	}
	r.mustEcho(t)
}

// TestToxiproxyUnreachable: errors, not hangs, when the API is gone.
func TestToxiproxyUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens here now
	tp := chaos.NewToxiproxy(addr)
	ctx := context.Background()
	f := must(chaos.Latency(tp, "link", chaos.Both, time.Second, 0))
	if err := f.Inject(ctx); err == nil {
		t.Error("inject against no API succeeded")
	}
	if err := f.Recover(ctx); err == nil {
		t.Error("recover against no API succeeded: it cannot know the toxic is gone")
	}
	if err := tp.ResetAll(ctx); err == nil {
		t.Error("ResetAll against no API succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.Inject(cctx); err == nil {
		t.Error("inject with a cancelled context succeeded")
	}
}

// must returns f, failing the test run on err (a bad toxic parameter in a
// test is a bug of the test).
func must(f chaos.Fault, err error) chaos.Fault {
	if err != nil {
		panic(err)
	}
	return f
}
