package main

import (
	"context"
	"fmt"
	"sync"
)

// gate is a pool of encoders: at most size pieces of work hold one at a
// time. A waiter of a higher priority is served before any of a lower
// one, so low-priority work pauses while high-priority work waits; within
// a priority, first come first served.
type gate struct {
	mu       sync.Mutex
	size     int
	busy     int
	scaleUps int // doublings since the last reset
	waiting  [prioLevels][]chan struct{}
}

// Priorities of work at the gate.
const (
	prioLow = iota
	prioHigh
	prioLevels
)

func newGate(size int) *gate { return &gate{size: size} }

// acquire waits for an encoder; it fails only when ctx ends first.
func (g *gate) acquire(ctx context.Context, prio int) error {
	g.mu.Lock()
	if g.busy < g.size && !g.queuedAtOrAbove(prio) {
		g.busy++
		g.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	g.waiting[prio] = append(g.waiting[prio], ch)
	g.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, c := range g.waiting[prio] {
			if c == ch {
				g.waiting[prio] = append(g.waiting[prio][:i], g.waiting[prio][i+1:]...)
				return ctx.Err()
			}
		}
		// handed an encoder as ctx ended: give it back
		g.busy--
		g.handOut()
		return ctx.Err()
	}
}

// release gives an encoder back.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.busy--
	g.handOut()
}

// reset sets the number of encoders and forgets the scale-ups; work
// holding one past a shrink finishes first.
func (g *gate) reset(n int) error {
	if n < 1 || n > maxPartitions {
		return fmt.Errorf("encoders %d: want 1..%d", n, maxPartitions)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.size, g.scaleUps = n, 0
	g.handOut()
	return nil
}

// double doubles the encoders, up to limit.
func (g *gate) double(limit int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.size >= limit {
		return
	}
	g.size = min(2*g.size, limit)
	g.scaleUps++
	g.handOut()
}

// gateStats is the gate in GET /admin/stats.
type gateStats struct {
	Size     int `json:"size"`
	Busy     int `json:"busy"`
	Waiting  int `json:"waiting"`
	ScaleUps int `json:"scale_ups"`
}

func (g *gate) stats() gateStats {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := gateStats{Size: g.size, Busy: g.busy, ScaleUps: g.scaleUps}
	for _, w := range g.waiting {
		s.Waiting += len(w)
	}
	return s
}

func (g *gate) queuedAtOrAbove(prio int) bool {
	for p := prio; p < prioLevels; p++ {
		if len(g.waiting[p]) > 0 {
			return true
		}
	}
	return false
}

// handOut gives free encoders to waiters, the highest priority first;
// g.mu is held.
func (g *gate) handOut() {
	for p := prioLevels - 1; p >= 0; p-- {
		for g.busy < g.size && len(g.waiting[p]) > 0 {
			ch := g.waiting[p][0]
			g.waiting[p] = g.waiting[p][1:]
			g.busy++
			close(ch)
		}
	}
}
