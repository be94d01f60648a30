package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

// TestBlackhole: while injected a new connection is accepted and then
// nothing — no echo, no close — even once the upstream is gone; after
// Recover the link echoes again. Both with the tarpit this process serves
// and with one beside the Toxiproxy server (compose).
func TestBlackhole(t *testing.T) {
	t.Parallel()
	for _, serverTarpit := range []bool{false, true} {
		t.Run(map[bool]string{false: "own tarpit", true: "server's tarpit"}[serverTarpit], func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			ctx := context.Background()
			var pit *chaos.Tarpit
			if serverTarpit {
				var err error
				if pit, err = chaos.ListenTarpit("127.0.0.1:0"); err != nil {
					t.Fatal(err)
				}
				defer pit.Close()
				r.tp.WithTarpit(pit.Addr())
			}
			r.mustEcho(t)
			f, err := chaos.Blackhole(r.tp, r.link)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Inject(ctx); err != nil {
				t.Fatal(err)
			}
			if !f.Silent() {
				t.Fatal("the upstream was not replaced by the tarpit")
			}
			if serverTarpit {
				if p, err := r.raw.Proxy(r.link); err != nil || p.Upstream != pit.Addr() {
					t.Fatalf("upstream while injected: %v (%v), want the server's tarpit %s", p, err, pit.Addr())
				}
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
			if f.Silent() {
				t.Fatal("still silent after Recover")
			}
			r.mustEcho(t)
		})
	}
}
