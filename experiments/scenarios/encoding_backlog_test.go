package scenarios

import (
	"testing"
	"time"
)

func TestP99Of(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100 .. 1, unsorted
	}
	for _, c := range []struct {
		name string
		xs   []float64
		want float64
	}{
		{"one", []float64{3}, 3},
		{"ten: the largest", []float64{5, 1, 9, 2, 8, 3, 7, 4, 6, 0}, 9},
		{"a hundred: the 99th", hundred, 99},
	} {
		if got := p99Of(c.xs); got != c.want {
			t.Errorf("%s: p99 %g, want %g", c.name, got, c.want)
		}
	}
}

func TestUploadsOlderThan(t *testing.T) {
	t0 := time.Unix(1000, 0)
	u := &uploads{}
	if got := u.olderThan(time.Second, t0); got != warmVideo {
		t.Fatalf("no upload yet: %d, want the warm-up video", got)
	}
	for i, ms := range []int{0, 400, 900, 1500} {
		u.add(int64(i+1), t0.Add(time.Duration(ms)*time.Millisecond))
	}
	for _, c := range []struct {
		now  time.Duration
		want int64
	}{
		{500 * time.Millisecond, warmVideo}, // none a second old yet
		{time.Second, 1},
		{1900 * time.Millisecond, 3},
		{10 * time.Second, 4},
	} {
		if got := u.olderThan(time.Second, t0.Add(c.now)); got != c.want {
			t.Errorf("at %v: %d, want %d", c.now, got, c.want)
		}
	}
}
