package main

import (
	"sync/atomic"
	"time"
)

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
// rate the pool serves calls (Little's law: pool / service time). The
// service time is the pool's learned one (db.Pool.ServiceTime), never the
// configured cost of the work; before a first call it is unknown and
// nothing is shed.
func shedLimit(pool int, wait, service time.Duration) int64 {
	if service <= 0 {
		return 1 << 40
	}
	return int64(pool) + int64(float64(pool)*wait.Seconds()/service.Seconds())
}
