package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

// TestBlackhole: while injected a new connection is accepted and then
// nothing — no echo, no close — even once the upstream is gone; after
// Recover the link echoes again.
func TestBlackhole(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	r.mustEcho(t)
	f, err := chaos.Blackhole(r.tp, r.link)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.Silent() {
		t.Fatal("a loopback upstream was not replaced by the tarpit")
	}
	c := r.dial(t)
	// 300 ms of silence stands for "never": a refused upstream closes the
	// client within a millisecond.
	if _, err := echo(c, []byte("ping"), 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("new connection through a blackholed link: %v, want silence (a read timeout)", err)
	}
	for range 2 { // idempotent
		if err := f.Recover(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.mustEcho(t)
}
