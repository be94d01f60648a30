package chaos_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

// TestSlicer: one write comes back in many small reads, spread in time.
func TestSlicer(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	const delay = 10 * time.Millisecond
	f, err := chaos.Slicer(r.tp, r.link, chaos.Downstream, 16, 0, delay)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	msg := bytes.Repeat([]byte("s"), 160) // halved down to 16 slices of 10 bytes
	reads, d, err := readsToEcho(r, t, msg)
	if err != nil {
		t.Fatal(err)
	}
	if reads < 4 || d < 8*delay {
		t.Errorf("%d bytes came back in %d reads over %v; want many reads over at least %v", len(msg), reads, d, 8*delay)
	}
	t.Logf("sliced: %d reads over %v", reads, d)
	if err := f.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	reads, d, err = readsToEcho(r, t, msg)
	if err != nil || d >= 8*delay {
		t.Errorf("after recover: %d reads over %v, %v", reads, d, err)
	}
}

// readsToEcho writes msg on a fresh connection and counts the reads needed
// to get it back.
func readsToEcho(r *rig, t *testing.T, msg []byte) (int, time.Duration, error) {
	c := r.dial(t)
	start := time.Now()
	if err := c.SetDeadline(start.Add(5 * time.Second)); err != nil {
		return 0, 0, err
	}
	if _, err := c.Write(msg); err != nil {
		return 0, 0, err
	}
	buf := make([]byte, len(msg))
	reads, got := 0, 0
	for got < len(msg) {
		n, err := c.Read(buf[got:])
		if err != nil {
			return reads, time.Since(start), err
		}
		got += n
		reads++
	}
	if !bytes.Equal(buf, msg) {
		return reads, time.Since(start), io.ErrUnexpectedEOF
	}
	return reads, time.Since(start), nil
}
