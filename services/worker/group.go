package main

import (
	"context"
	"fmt"
	"sync"
)

// group is one consumer group of the pipeline and its members, whose
// number changes at runtime (PUT /admin/members, autoscale).
type group struct {
	w        *worker
	plan     groupPlan
	ctx      context.Context // the worker's: members outlive a request
	counters *memberCounters
	ledger   *ledger

	mu       sync.Mutex
	members  []*member
	scaleUps int64
}

func newGroup(ctx context.Context, w *worker, plan groupPlan, c *memberCounters) *group {
	return &group{w: w, plan: plan, ctx: ctx, counters: c, ledger: newLedger()}
}

// resize starts or stops members until n run. Stopped members finish the
// record in hand's step attempt, commit and leave the group.
func (g *group) resize(n int) error {
	if n < 0 || n > maxPartitions {
		return fmt.Errorf("members %d: want 0..%d", n, maxPartitions)
	}
	g.mu.Lock()
	var stopping []*member
	for len(g.members) > n {
		last := g.members[len(g.members)-1]
		g.members = g.members[:len(g.members)-1]
		last.cancel()
		stopping = append(stopping, last)
	}
	var err error
	for len(g.members) < n {
		m, e := g.startMember()
		if e != nil {
			err = fmt.Errorf("group %s: starting a member: %w", g.plan.name, e)
			break
		}
		g.members = append(g.members, m)
	}
	g.mu.Unlock()
	for _, m := range stopping {
		<-m.done
	}
	return err
}

func (g *group) size() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.members)
}

// idle is how many members own no partition now.
func (g *group) idle() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, m := range g.members {
		if m.owned.Load() == 0 {
			n++
		}
	}
	return n
}

// uncommitted sums the members' records with a step done since their last
// commit.
func (g *group) uncommitted() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	var n int64
	for _, m := range g.members {
		n += m.pending.Load()
	}
	return n
}

// grow adds one member unless the group already has limit.
func (g *group) grow(limit int) error {
	g.mu.Lock()
	n := len(g.members)
	g.mu.Unlock()
	if n >= limit {
		return nil
	}
	if err := g.resize(n + 1); err != nil {
		return err
	}
	g.mu.Lock()
	g.scaleUps++
	g.mu.Unlock()
	return nil
}

func (g *group) stop() { _ = g.resize(0) }
