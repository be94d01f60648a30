package chaos_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
)

func TestBandwidth(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	const rate = 20 // KB/s
	msg := bytes.Repeat([]byte("b"), 10_000)
	want := time.Duration(len(msg)) * time.Second / (rate * 1000) // 500 ms
	f, err := chaos.Bandwidth(r.tp, r.link, chaos.Downstream, rate)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	d, err := echo(r.dial(t), msg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if d < want*8/10 {
		t.Errorf("%d bytes at %d KB/s took %v, want about %v", len(msg), rate, d, want)
	}
	t.Logf("%d bytes at %d KB/s: %v (ideal %v)", len(msg), rate, d, want)
	if err := f.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if d, err := echo(r.dial(t), msg, 10*time.Second); err != nil || d > want/2 {
		t.Errorf("after recover: %v, %v; want well under %v", d, err, want)
	}
}
