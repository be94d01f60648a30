package main

import "sync/atomic"

// shedder is the admission control in front of DB-bound work: a request is
// admitted while the work already admitted would drain within the allowed
// wait, and shed (503) otherwise. Shedding is what keeps a saturated
// service from queueing without bound; how long the queue may grow is the
// difference between shedding early and late (shed_early).
type shedder struct {
	inFlight atomic.Int64
}

// admit takes a slot when fewer than limit requests are admitted; the
// caller must release an admitted slot.
func (s *shedder) admit(limit int64) bool {
	if s.inFlight.Add(1) > limit {
		s.inFlight.Add(-1)
		return false
	}
	return true
}

func (s *shedder) release() { s.inFlight.Add(-1) }

// shedLimit is how many quote requests may be admitted: the pool's
// connections plus the queue that drains within the allowed wait at the
// DB's capacity (pool / query cost).
func shedLimit(pool int, wait, cost float64) int64 {
	if cost <= 0 {
		return 1 << 40 // zero-cost work never queues
	}
	return int64(pool) + int64(float64(pool)*wait/cost)
}
