package main

import (
	"context"
	"testing"
	"time"
)

// waiting is how many checkouts wait, by priority (tests only).
func (g *priorityGate) waiting() (high, low int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.queue[0].Len(), g.queue[1].Len()
}

// awaitWaiting polls until the gate has the given waiters.
func awaitWaiting(t *testing.T, g *priorityGate, high, low int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		h, l := g.waiting()
		if h == high && l == low {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting high %d low %d, want %d %d", h, l, high, low)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestPriorityGateAdmitsWhileSlotsAreFree(t *testing.T) {
	g := newPriorityGate(2)
	for i, high := range []bool{false, true} {
		if !g.acquire(context.Background(), high, 0) {
			t.Fatalf("acquire %d refused with a free slot", i)
		}
	}
	if g.inFlight.Load() != 2 {
		t.Fatalf("in flight %d, want 2", g.inFlight.Load())
	}
	start := time.Now()
	if g.acquire(context.Background(), true, 20*time.Millisecond) {
		t.Fatal("admitted past the slots")
	}
	if took := time.Since(start); took < 20*time.Millisecond {
		t.Fatalf("shed after %v, before its wait of 20ms", took)
	}
	if g.inFlight.Load() != 2 {
		t.Fatalf("in flight %d after a shed, want 2", g.inFlight.Load())
	}
	g.release()
	g.release()
	if g.inFlight.Load() != 0 || g.free != 2 {
		t.Fatalf("after release: in flight %d, free %d", g.inFlight.Load(), g.free)
	}
}

// A freed slot goes to the oldest high-priority waiter, even one that
// arrived after a low-priority waiter; then to the low one.
func TestPriorityGateHighFirst(t *testing.T) {
	g := newPriorityGate(1)
	if !g.acquire(context.Background(), false, 0) {
		t.Fatal("first acquire refused")
	}
	order := make(chan string, 3)
	enter := func(name string, high bool) {
		if g.acquire(context.Background(), high, time.Minute) {
			order <- name
		} else {
			order <- name + " shed"
		}
	}
	go enter("low", false)
	awaitWaiting(t, g, 0, 1)
	go enter("high-1", true)
	awaitWaiting(t, g, 1, 1)
	go enter("high-2", true)
	awaitWaiting(t, g, 2, 1)
	for _, want := range []string{"high-1", "high-2", "low"} {
		g.release()
		if got := <-order; got != want {
			t.Fatalf("slot went to %s, want %s", got, want)
		}
	}
	g.release()
	if g.free != 1 || g.inFlight.Load() != 0 {
		t.Fatalf("free %d in flight %d, want 1 and 0", g.free, g.inFlight.Load())
	}
}

func TestPriorityGateGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wait   time.Duration
		cancel bool
	}{
		{name: "wait runs out", wait: 10 * time.Millisecond},
		{name: "request ends", wait: time.Minute, cancel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newPriorityGate(1)
			g.acquire(context.Background(), true, 0)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan bool)
			go func() { done <- g.acquire(ctx, false, tc.wait) }()
			if tc.cancel {
				awaitWaiting(t, g, 0, 1)
				cancel()
			}
			if <-done {
				t.Fatal("admitted without a free slot")
			}
			cancel()
			if h, l := g.waiting(); h+l != 0 || g.inFlight.Load() != 1 {
				t.Fatalf("left waiting %d+%d, in flight %d", h, l, g.inFlight.Load())
			}
			g.release() // no waiter left: the slot is free again
			if !g.acquire(context.Background(), false, 0) {
				t.Fatal("slot not free after the waiter gave up")
			}
		})
	}
}
