package chaos_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

func TestLimitData(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	const limit = 10
	f, err := chaos.LimitData(r.tp, r.link, chaos.Downstream, limit)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	c := r.dial(t)
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("x"), 100)
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c) // ends at the proxy's close
	if err != nil {
		t.Fatalf("read: %v (got %d bytes)", err, len(got))
	}
	if len(got) != limit {
		t.Fatalf("got %d bytes before close, want %d", len(got), limit)
	}
	if err := f.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := echo(r.dial(t), msg, 5*time.Second); err != nil {
		t.Fatalf("100 bytes after recover: %v", err)
	}
}
