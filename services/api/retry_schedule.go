package main

import (
	"math"
	"sync"
	"time"
)

// retrySchedule spreads the retries of shed requests over the capacity the
// service has learned: each shed request is told to come back no sooner
// than the configured Retry-After, and after every retry booked before it
// has had its slot (one service time per connection). A spike the service
// can repay within Retry-After gets Retry-After; a longer backlog is told
// to come back later, in the order it was shed, instead of all at once.
type retrySchedule struct {
	mu   sync.Mutex
	next time.Time // the first retry slot not yet booked
}

// book returns when a request shed at now should come back: at least floor
// from now, and not before the slots booked earlier; slot is the time the
// service needs per request (service time / connections), 0 if unknown.
func (s *retrySchedule) book(now time.Time, floor, slot time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := now.Add(floor)
	if s.next.After(at) {
		at = s.next
	}
	s.next = at.Add(slot)
	return at.Sub(now)
}

// reset forgets every booking, for a run that starts afresh.
func (s *retrySchedule) reset() {
	s.mu.Lock()
	s.next = time.Time{}
	s.mu.Unlock()
}

// wholeSeconds rounds a wait up to the whole seconds of a Retry-After
// header: never earlier than the schedule asked.
func wholeSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}
