package main

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// member is one consumer-group member: its own client (its own session
// with the broker) working its records one at a time, so each member is
// one more unit of capacity up to the partition count.
type member struct {
	cancel context.CancelFunc
	done   chan struct{}
	owned  atomic.Int32 // partitions assigned now: a member beyond the partition count has none
	// pending counts records with a step done since the member's last
	// commit: what a crash now would have done again.
	pending atomic.Int64
}

// memberCounters are the group's monotonic counters; members share them.
type memberCounters struct {
	records    atomic.Int64 // finished, repeats included
	stepErrors atomic.Int64 // a step failed and the record was tried again
	poison     atomic.Int64 // records whose key is not an event id: skipped
	dead       atomic.Int64 // records sent to the dead-letter topic
	fetchErrs  atomic.Int64
	commitErrs atomic.Int64
}

// retryPause is how long a member waits before trying a failed step again
// in place.
const retryPause = 100 * time.Millisecond

// deadLetterAfter is the seed's N: attempts of a step, back to back, before
// its record goes to the dead-letter topic.
const deadLetterAfter = 3

func (g *group) startMember() (*member, error) {
	m := &member{done: make(chan struct{})}
	count := func(ps map[string][]int32) (n int32) {
		for _, p := range ps {
			n += int32(len(p))
		}
		return n
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(g.w.cfg.broker),
		kgo.ConsumerGroup(g.plan.name),
		kgo.ConsumeTopics(g.w.cfg.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// only records marked finished are committed: one polled but not
		// worked (a member stopped mid-batch) goes to the next owner
		kgo.AutoCommitMarks(),
		// a partition moves to another member only between polls, after
		// the records polled are finished and committed: no repeats from a
		// rebalance, only from a crash
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.owned.Add(count(ps)) }),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, ps map[string][]int32) {
			m.owned.Add(-count(ps))
			g.commit(ctx, cl, m)
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { m.owned.Add(-count(ps)) }),
		kgo.SessionTimeout(6 * time.Second),
		kgo.HeartbeatInterval(500 * time.Millisecond),
		kgo.RebalanceTimeout(10 * time.Second),
		kgo.FetchMaxWait(200 * time.Millisecond),
		// A member fetches about a poll's worth ahead, so a backlog waits
		// in the broker, where retention can reach it, as it does with
		// real record sizes (1 MB per partition fetch holds ~1,000 events
		// of 1 KB; ours are ~20 bytes and a default fetch would pull a
		// whole backlog into memory).
		kgo.FetchMaxBytes(fetchMaxBytes),
		kgo.FetchMaxPartitionBytes(fetchMaxBytes / 4),
	}
	if every := g.w.pipe.commitEvery; every > 0 {
		opts = append(opts, kgo.AutoCommitInterval(every),
			kgo.AutoCommitCallback(func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitResponse, err error) {
				if err != nil {
					g.counters.commitErrs.Add(1)
					return
				}
				m.pending.Store(0)
			}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(g.ctx)
	m.cancel = cancel
	go func() {
		defer close(m.done)
		g.consume(ctx, cl, m)
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		g.commit(cctx, cl, m)
		cl.Close() // leaves the group: its partitions move at once
	}()
	return m, nil
}

// pollBatch bounds the records a member holds between commits.
const pollBatch = 50

// fetchMaxBytes bounds one fetch of a member: a few hundred events.
const fetchMaxBytes = 4 << 10

// commit commits what the member marked finished.
func (g *group) commit(ctx context.Context, cl *kgo.Client, m *member) {
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		g.counters.commitErrs.Add(1)
		return
	}
	m.pending.Store(0)
}

func (g *group) consume(ctx context.Context, cl *kgo.Client, m *member) {
	env := stepEnv{group: g.plan.name, db: g.w.db, settings: g.w.settings, prot: g.w.prot, gate: g.w.gate, pay: g.w.pay}
	for ctx.Err() == nil {
		fetches := cl.PollRecords(ctx, pollBatch)
		fetches.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) {
				g.counters.fetchErrs.Add(1)
			}
		})
		for _, r := range fetches.Records() {
			if !g.work(ctx, env, r, m) {
				cl.AllowRebalance()
				return
			}
			cl.MarkCommitRecords(r)
		}
		if g.w.pipe.commitEvery == 0 && ctx.Err() == nil {
			g.commit(ctx, cl, m)
		}
		cl.AllowRebalance()
	}
}

// work runs the group's steps on one record, each until it succeeds or,
// with dead_letter on, until it has failed deadLetterAfter times in a row
// and the record is on the dead-letter topic. It returns false when the
// member is stopped first (the record is then neither finished nor
// committed, and another member takes it).
func (g *group) work(ctx context.Context, env stepEnv, r *kgo.Record, m *member) bool {
	ev, err := decodeEvent(r)
	if err != nil {
		g.counters.poison.Add(1)
		return true
	}
	for _, s := range g.plan.steps {
		for attempt := 1; ; attempt++ {
			err := s(ctx, env, ev)
			if err == nil {
				m.pending.Add(1)
				break
			}
			if ctx.Err() != nil {
				return false
			}
			g.counters.stepErrors.Add(1)
			if g.w.deadLettering() {
				if attempt < deadLetterAfter {
					continue // back to back: the seed's N retries, then move on
				}
				if g.w.deadLetter(ctx, r, err) == nil {
					g.counters.dead.Add(1)
					return true
				}
				// the dead-letter topic did not take it: pause, try again
			}
			select {
			case <-ctx.Done():
				return false
			case <-time.After(retryPause):
			}
		}
	}
	g.ledger.finish(ev, time.Now())
	g.counters.records.Add(1)
	return true
}
