package main

import (
	"container/list"
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// priorityGate is priority_shed's admission control for checkouts: at most
// slots of them work in the database at a time; the rest wait in the api,
// and a freed slot goes to the oldest waiting high-priority checkout before
// any low-priority one. A checkout that waits past its priority's bound is
// shed. So a short burst is absorbed by the wait, a sustained overload
// sheds low priority first, and high priority never queues behind low
// priority — inside Postgres the row lock's queue knows no priority.
type priorityGate struct {
	mu    sync.Mutex
	free  int
	queue [2]list.List // waiting *gateTicket by priority: [0] high, [1] low

	inFlight atomic.Int64 // admitted or waiting: a gauge for /admin/stats
}

type gateTicket struct {
	ready   chan struct{}
	granted bool // set under mu when a slot was handed over
}

func newPriorityGate(slots int) *priorityGate { return &priorityGate{free: slots} }

// acquire waits up to wait for a slot; false means shed (or ctx ended).
// A true return must be paired with release.
func (g *priorityGate) acquire(ctx context.Context, high bool, wait time.Duration) bool {
	g.inFlight.Add(1)
	g.mu.Lock()
	if g.free > 0 { // waiters exist only while no slot is free
		g.free--
		g.mu.Unlock()
		return true
	}
	q := &g.queue[1]
	if high {
		q = &g.queue[0]
	}
	t := &gateTicket{ready: make(chan struct{})}
	e := q.PushBack(t)
	g.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-t.ready:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.granted { // handed a slot while giving up: keep it
		return true
	}
	q.Remove(e)
	g.inFlight.Add(-1)
	return false
}

// release frees a slot: to the next waiter by priority, else to the pool.
func (g *priorityGate) release() {
	g.inFlight.Add(-1)
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := range g.queue {
		if e := g.queue[i].Front(); e != nil {
			t := g.queue[i].Remove(e).(*gateTicket)
			t.granted = true
			close(t.ready)
			return
		}
	}
	g.free++
}
