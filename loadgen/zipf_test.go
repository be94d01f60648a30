package loadgen

import (
	"math"
	"sync"
	"testing"
)

func TestNewZipfValidates(t *testing.T) {
	tests := []struct {
		n       uint64
		s       float64
		wantErr bool
	}{
		{100, 1.1, false},
		{1, 2, false},
		{0, 1.1, true},
		{100, 1, true},
		{100, 0.5, true},
		{100, math.NaN(), true},
		{100, math.Inf(1), true},
	}
	for _, tc := range tests {
		if _, err := NewZipf(tc.n, tc.s, 1); (err != nil) != tc.wantErr {
			t.Errorf("NewZipf(%d, %v) error = %v, wantErr %v", tc.n, tc.s, err, tc.wantErr)
		}
	}
}

func TestZipfShape(t *testing.T) {
	tests := []struct {
		n uint64
		s float64
	}{{1, 1.5}, {10, 1.2}, {1000, 1.1}, {1000, 2}}
	const draws = 20000
	for _, tc := range tests {
		z, err := NewZipf(tc.n, tc.s, 42)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[uint64]int{}
		for range draws {
			k := z.Next()
			if k < 1 || k > tc.n {
				t.Fatalf("n=%d: key %d out of 1..n", tc.n, k)
			}
			counts[k]++
		}
		// Key 1 is the hottest, and rank 1 vs rank 2 follows 2^s roughly.
		for k, c := range counts {
			if c > counts[1] {
				t.Errorf("n=%d s=%v: key %d drawn %d times, more than key 1 (%d)", tc.n, tc.s, k, c, counts[1])
			}
		}
		if tc.n >= 2 {
			ratio := float64(counts[1]) / float64(counts[2])
			if want := math.Pow(2, tc.s); ratio < want*0.8 || ratio > want*1.25 {
				t.Errorf("n=%d s=%v: P(1)/P(2) = %.2f, want ~%.2f", tc.n, tc.s, ratio, want)
			}
		}
	}
}

func TestZipfReproducibleAndConcurrent(t *testing.T) {
	seq := func(seed int64) []uint64 {
		z, _ := NewZipf(100, 1.3, seed)
		out := make([]uint64, 100)
		for i := range out {
			out[i] = z.Next()
		}
		return out
	}
	a, b := seq(7), seq(7)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed diverged at draw %d", i)
		}
	}
	z, _ := NewZipf(100, 1.3, 7)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				if k := z.Next(); k < 1 || k > 100 {
					t.Errorf("key %d out of range", k)
					return
				}
			}
		}()
	}
	wg.Wait()
}
