package chaos_test

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

func TestDown(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	open := r.dial(t)
	if _, err := echo(open, []byte("warm"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	f, err := chaos.Down(r.tp, r.link)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", r.addr, 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial a downed link: %v, want connection refused", err)
	}
	if _, err := echo(open, []byte("ping"), 5*time.Second); !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("open conn on a downed link: %v, want it closed", err)
	}
	for range 2 { // idempotent
		if err := f.Recover(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.mustEcho(t)
}
