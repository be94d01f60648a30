package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitFor polls cond until it holds or a second passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGateServesHighPriorityFirst(t *testing.T) {
	g := newGate(1)
	ctx := context.Background()
	if err := g.acquire(ctx, prioLow); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 3)
	enqueue := func(prio, tag int) {
		go func() {
			if err := g.acquire(ctx, prio); err == nil {
				order <- tag
				g.release()
			}
		}()
	}
	// two low waiters queue first, then a high one: it must go before both
	enqueue(prioLow, 1)
	waitFor(t, "first low waiter", func() bool { return g.stats().Waiting == 1 })
	enqueue(prioLow, 2)
	waitFor(t, "second low waiter", func() bool { return g.stats().Waiting == 2 })
	enqueue(prioHigh, 3)
	waitFor(t, "high waiter", func() bool { return g.stats().Waiting == 3 })
	g.release()
	var got []int
	for range 3 {
		got = append(got, <-order)
	}
	if want := []int{3, 1, 2}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("served %v, want %v (high first, then low in arrival order)", got, want)
	}
	if s := g.stats(); s.Busy != 0 || s.Waiting != 0 {
		t.Fatalf("after all released: %+v", s)
	}
}

func TestGateNewArrivalDoesNotOvertakeWaiters(t *testing.T) {
	g := newGate(1)
	ctx := context.Background()
	if err := g.acquire(ctx, prioLow); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		if g.acquire(ctx, prioHigh) == nil {
			close(got)
		}
	}()
	waitFor(t, "high waiter", func() bool { return g.stats().Waiting == 1 })
	// a free slot appears by a resize while a high waiter queues: it is
	// handed out, and a low newcomer must wait
	g.double(2)
	<-got
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := g.acquire(cctx, prioLow); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("low newcomer with both encoders busy: %v, want a deadline", err)
	}
	if s := g.stats(); s.Busy != 2 || s.Waiting != 0 || s.Size != 2 || s.ScaleUps != 1 {
		t.Fatalf("stats %+v, want 2 busy of 2, none waiting, one scale-up", s)
	}
}

func TestGateDoubleStopsAtLimit(t *testing.T) {
	g := newGate(2)
	for _, want := range []int{4, 8, 12, 12} {
		g.double(12)
		if s := g.stats(); s.Size != want {
			t.Fatalf("size %d, want %d", s.Size, want)
		}
	}
	if s := g.stats(); s.ScaleUps != 3 {
		t.Fatalf("scale-ups %d, want 3", s.ScaleUps)
	}
	if err := g.reset(2); err != nil || g.stats().ScaleUps != 0 || g.stats().Size != 2 {
		t.Fatalf("reset: %v %+v", err, g.stats())
	}
	for _, bad := range []int{0, -1, maxPartitions + 1} {
		if err := g.reset(bad); err == nil {
			t.Errorf("reset(%d) accepted", bad)
		}
	}
}

func TestGateCanceledWaiterLeavesNoTrace(t *testing.T) {
	g := newGate(1)
	ctx := context.Background()
	if err := g.acquire(ctx, prioLow); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- g.acquire(cctx, prioLow) }()
	waitFor(t, "waiter", func() bool { return g.stats().Waiting == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled waiter: %v", err)
	}
	g.release()
	if s := g.stats(); s.Busy != 0 || s.Waiting != 0 {
		t.Fatalf("stats %+v, want nothing busy or waiting", s)
	}
}
