package chaos_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

func TestResetPeer(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	f, err := chaos.ResetPeer(r.tp, r.link, chaos.Downstream, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = echo(r.dial(t), []byte("ping"), 5*time.Second)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read through reset_peer: %v, want ECONNRESET", err)
	}
	if err := f.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	r.mustEcho(t)
}
