package chaos_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

// TestTimeoutStallsUntilRecover: a stalled connection gets no data at all,
// and removing the toxic closes it; fresh connections then work.
func TestTimeoutStallsUntilRecover(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	f, err := chaos.Timeout(r.tp, r.link, chaos.Downstream, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	c := r.dial(t)
	// A stall can only be shown by waiting: nothing may arrive in 300 ms.
	if _, err := echo(c, []byte("ping"), 300*time.Millisecond); !isTimeout(err) {
		t.Fatalf("read through timeout toxic: %v, want a deadline timeout", err)
	}

	readErr := make(chan error, 1)
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := c.Read(make([]byte, 16))
		readErr <- err
	}()
	start := time.Now()
	if err := f.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	recovered := time.Since(start)
	select {
	case err := <-readErr:
		if isTimeout(err) || err == nil {
			t.Fatalf("stalled conn after recover: %v, want it closed", err)
		}
		t.Logf("stalled conn closed %v after Recover started (Recover took %v): %v", time.Since(start), recovered, err)
	case <-time.After(5 * time.Second):
		t.Fatal("stalled conn not closed within 5s of Recover")
	}
	r.mustEcho(t)
}

// TestTimeoutCloses: with a close-after, the proxy closes the stalled
// connection on its own (EOF, not our deadline).
func TestTimeoutCloses(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	const after = 200 * time.Millisecond
	f, err := chaos.Timeout(r.tp, r.link, chaos.Both, after)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Recover(ctx); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now() // the proxy's clock starts at accept, not at our write
	_, err = echo(r.dial(t), []byte("ping"), 5*time.Second)
	d := time.Since(start)
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read: %v, want EOF", err)
	}
	if d < after {
		t.Errorf("closed after %v, want at least %v", d, after)
	}
	t.Logf("timeout %v closed the connection after %v", after, d)
}
