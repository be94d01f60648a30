package loadgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
)

// Zipf picks keys 1..n with P(k) proportional to 1/k^s: key 1 is the hottest.
// Safe for concurrent use; the sequence is reproducible for a given seed when
// drawn from one goroutine.
type Zipf struct {
	mu sync.Mutex
	z  *rand.Zipf
}

// NewZipf returns a picker over n keys with exponent s (> 1).
func NewZipf(n uint64, s float64, seed int64) (*Zipf, error) {
	if n == 0 {
		return nil, fmt.Errorf("loadgen: zipf: n must be > 0")
	}
	if !(s > 1) || math.IsInf(s, 0) {
		return nil, fmt.Errorf("loadgen: zipf: s must be a finite number > 1, got %v", s)
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5851f42d4c957f2d))
	return &Zipf{z: rand.NewZipf(r, s, 1, n-1)}, nil
}

// Next returns the next key in 1..n.
func (z *Zipf) Next() uint64 {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.z.Uint64() + 1
}
