package main

import (
	"context"
	"sync"
	"time"
)

// A stallClock notices when this process stood still (SIGSTOP, a long
// scheduling stall — the seed's GC pause): a ticker that should fire every
// stallTick and fired stallGap or more late. The booking pipeline marks a
// checkout that spanned one, so the audit can tell a holder that was
// paused from one that was alive all along.
type stallClock struct {
	mu    sync.Mutex
	last  time.Time
	gaps  [64]stallGapAt // the newest, as a ring
	next  int
	count int64
}

type stallGapAt struct{ from, to time.Time }

const (
	stallTick = 10 * time.Millisecond
	stallGap  = 200 * time.Millisecond
)

func newStallClock() *stallClock { return &stallClock{last: time.Now()} }

func (s *stallClock) run(ctx context.Context) {
	t := time.NewTicker(stallTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.tick(time.Now())
		}
	}
}

func (s *stallClock) tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.last) >= stallGap {
		s.gaps[s.next] = stallGapAt{s.last, now}
		s.next = (s.next + 1) % len(s.gaps)
		s.count++
	}
	s.last = now
}

// stalledSince says whether the process stood still at some moment after
// t: a gap that ended after t, or one still open (the ticker has not run
// since the process came back).
func (s *stallClock) stalledSince(t, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.last) >= stallGap {
		return true
	}
	for _, g := range s.gaps {
		if !g.to.IsZero() && g.to.After(t) {
			return true
		}
	}
	return false
}

func (s *stallClock) stalls() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}
