package db

import (
	"sync"
	"time"
)

// serviceWeight is how much one call moves the learned service time: about
// the last 20 calls dominate, so a pool at hundreds of calls per second
// follows a slower database within a fraction of a second.
const serviceWeight = 0.05

// serviceTime learns how long a call holds a connection (an exponentially
// weighted mean of observed hold times). It is what a shedder or a limit in
// front of the pool may know of the database: measured, never configured.
type serviceTime struct {
	mu   sync.Mutex
	mean float64 // seconds; 0 until the first call
}

func (s *serviceTime) observe(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mean == 0 {
		s.mean = d.Seconds()
		return
	}
	s.mean += serviceWeight * (d.Seconds() - s.mean)
}

func (s *serviceTime) get() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(s.mean * float64(time.Second))
}

func (s *serviceTime) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mean = 0
}
