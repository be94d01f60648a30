package chaos_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

func TestLatency(t *testing.T) {
	t.Parallel()
	const lat, jitter = 150 * time.Millisecond, 10 * time.Millisecond
	tests := []struct {
		dir   chaos.Direction
		delay int // delays paid per round trip
	}{
		{chaos.Downstream, 1},
		{chaos.Upstream, 1},
		{chaos.Both, 2},
	}
	for _, tc := range tests {
		t.Run(string(tc.dir), func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			ctx := context.Background()
			open := r.dial(t) // opened before the fault: toxics reach open links too
			if _, err := echo(open, []byte("warm"), 5*time.Second); err != nil {
				t.Fatal(err)
			}
			f, err := chaos.Latency(r.tp, r.link, tc.dir, lat, jitter)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Inject(ctx); err != nil {
				t.Fatal(err)
			}
			wantMin := time.Duration(tc.delay) * (lat - jitter)
			for _, c := range []struct {
				name string
				conn net.Conn
			}{{"open", open}, {"fresh", r.dial(t)}} {
				d, err := echo(c.conn, []byte("hello"), 5*time.Second)
				if err != nil {
					t.Fatalf("%s conn: %v", c.name, err)
				}
				if d < wantMin {
					t.Errorf("%s conn: round trip %v, want at least %v", c.name, d, wantMin)
				}
				t.Logf("%s conn: round trip %v under %v±%v %s", c.name, d, lat, jitter, tc.dir)
			}
			if err := f.Recover(ctx); err != nil {
				t.Fatal(err)
			}
			if d := r.mustEcho(t); d >= lat/2 {
				t.Errorf("round trip after recover %v, want well under %v", d, lat)
			}
			if d, err := echo(open, []byte("again"), 5*time.Second); err != nil || d >= lat/2 {
				t.Errorf("open conn after recover: %v, %v", d, err)
			}
			if tx := r.toxics(t); len(tx) != 0 {
				t.Errorf("toxics left after recover: %+v", tx)
			}
		})
	}
}
