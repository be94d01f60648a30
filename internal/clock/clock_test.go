package clock

import (
	"context"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	live := context.Background()
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	soon, cancelSoon := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelSoon()
	cases := []struct {
		name    string
		ctx     context.Context
		d       time.Duration
		want    bool
		atLeast time.Duration // the call must take at least this long
		atMost  time.Duration // and at most this
	}{
		{"full wait", live, 30 * time.Millisecond, true, 30 * time.Millisecond, 5 * time.Second},
		{"zero", live, 0, true, 0, time.Second},
		{"negative", live, -time.Second, true, 0, time.Second},
		{"ended", ended, time.Hour, false, 0, time.Second},
		{"ended, zero", ended, 0, false, 0, time.Second},
		{"ends during the wait", soon, time.Hour, false, 0, 5 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			got := Sleep(c.ctx, c.d)
			took := time.Since(start)
			if got != c.want {
				t.Errorf("Sleep(%v) = %v, want %v", c.d, got, c.want)
			}
			if took < c.atLeast || took > c.atMost {
				t.Errorf("Sleep(%v) took %v, want %v..%v", c.d, took, c.atLeast, c.atMost)
			}
		})
	}
}
