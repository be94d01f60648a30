package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// freezeLag is how many seconds behind the schedule a second's histograms
// stay live before they are compacted; later stragglers thaw them again.
const freezeLag = 3

// Run drives p's schedule until p.Duration has passed (with
// p.UntilCancelled, until ctx is cancelled), then waits for the
// requests in flight (bounded by the policy timeouts) and returns the
// timeline. Canceling ctx stops early: requests not yet sent count as
// dropped, requests in flight are canceled, and Run returns the timeline so
// far together with ctx's error. Every goroutine Run starts has ended when it
// returns.
func Run(ctx context.Context, p Plan) (*Timeline, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	m, err := newMix(p)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r := &runner{
		ctx:   ctx,
		plan:  p,
		mix:   m,
		start: start,
		tl:    newTimeline(start, p.end()),
		jobs:  make(chan job),
	}
	var rep *reporter
	if p.OnSecond != nil {
		rep = newReporter(r.tl, p.OnSecond)
		go rep.run()
	}
	r.schedule(rep)
	if ctx.Err() != nil || r.err != nil {
		r.tl.stoppedAt(time.Since(start))
	}
	if testHookScheduled != nil {
		testHookScheduled()
	}
	close(r.jobs)
	r.workers.Wait()
	r.tl.freezeAll()
	if rep != nil {
		rep.close()
	}
	if r.err != nil {
		return r.tl, r.err
	}
	return r.tl, ctx.Err()
}

// testHookScheduled, set only by tests, runs once the schedule is over (every
// request sent or dropped) and before Run waits for requests in flight.
var testHookScheduled func()

// job is one logical request handed from the scheduler to a worker.
type job struct {
	off      time.Duration // scheduled offset from the start
	seq      uint64
	entry    *mixEntry
	deadline time.Duration // offset after which it is dropped if still unsent
}

type runner struct {
	ctx     context.Context
	plan    Plan
	mix     *mix
	start   time.Time
	tl      *Timeline
	jobs    chan job // unbuffered: a send succeeds only into an idle worker
	workers sync.WaitGroup
	spawned int
	err     error // a bad Weights result; the schedule stopped there
}

// schedule is the single scheduling goroutine: it wakes at ~1 ms
// granularity, moves every request that has become due onto a FIFO of
// pending requests, hands pending requests to idle workers (starting workers
// lazily up to MaxInFlight), and drops those that waited longer than
// DropAfter for a worker.
func (r *runner) schedule(rep *reporter) {
	sched := newSchedule(r.plan.Rate, r.plan.end())
	nextOff, more := sched.next()
	dropAfter := r.plan.dropAfter()
	var (
		pending []job // FIFO; pending[head:] are waiting
		head    int
		seq     uint64
		curSec  int
	)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Since(r.start)
		for more && nextOff <= now {
			e, err := r.pickAt(nextOff)
			if err != nil {
				r.err = err
				more = false
				break
			}
			r.tl.offer(nextOff, e.op.Name())
			pending = append(pending, job{off: nextOff, seq: seq, entry: e, deadline: now + dropAfter})
			seq++
			nextOff, more = sched.next()
		}
		for head < len(pending) && r.dispatch(pending[head]) {
			head++
		}
		for head < len(pending) && pending[head].deadline <= now {
			r.tl.drop(pending[head].off, pending[head].entry.op.Name())
			head++
		}
		if head == len(pending) { // reuse the backing array
			pending, head = pending[:0], 0
		}
		if sec := int(now / time.Second); sec > curSec {
			curSec = sec
			r.tl.freezeBefore(curSec - freezeLag)
			rep.elapsed(curSec)
		}
		if !more && head == len(pending) {
			rep.elapsed(int((r.plan.end() + time.Second - 1) / time.Second))
			return
		}

		wake := time.Duration(1<<63 - 1)
		if more {
			wake = nextOff
		}
		var send chan<- job // nil (never ready) unless something waits
		var first job
		if head < len(pending) {
			send, first = r.jobs, pending[head]
			wake = min(wake, first.deadline)
		}
		timer.Reset(wake - time.Since(r.start))
		select {
		case <-r.ctx.Done():
			for _, j := range pending[head:] {
				r.tl.drop(j.off, j.entry.op.Name())
			}
			rep.elapsed(int(time.Since(r.start)/time.Second) + 1)
			return
		case <-timer.C:
		case send <- first:
			r.tl.send(first.off, first.entry.op.Name())
			head++
		}
	}
}

// pickAt picks the op of a request scheduled at off.
func (r *runner) pickAt(off time.Duration) (*mixEntry, error) {
	if r.plan.Weights == nil {
		return r.mix.pick(), nil
	}
	return r.mix.pickWeighted(r.plan.Weights(off))
}

// dispatch hands j to an idle worker or starts a new one; false when all
// MaxInFlight workers are busy.
func (r *runner) dispatch(j job) bool {
	select {
	case r.jobs <- j:
	default:
		if r.spawned == r.plan.MaxInFlight {
			return false
		}
		r.spawned++
		r.workers.Add(1)
		go r.work(j)
	}
	r.tl.send(j.off, j.entry.op.Name())
	return true
}

func (r *runner) work(j job) {
	defer r.workers.Done()
	for ok := true; ok; j, ok = <-r.jobs {
		res := j.entry.client.Do(r.ctx, j.entry.op, j.seq, r.start.Add(j.off))
		r.tl.record(res)
		if r.plan.OnResult != nil {
			r.plan.OnResult(res)
		}
	}
}

// reporter calls OnSecond for each scheduled second once it has elapsed,
// from its own goroutine so that a slow callback never delays the schedule.
type reporter struct {
	tl      *Timeline
	fn      func(Second)
	upTo    atomic.Int64  // seconds [0, upTo) have elapsed
	wake    chan struct{} // capacity 1: coalesced "upTo moved"
	stopped chan struct{}
	done    chan struct{}
}

func newReporter(tl *Timeline, fn func(Second)) *reporter {
	return &reporter{tl: tl, fn: fn, wake: make(chan struct{}, 1), stopped: make(chan struct{}), done: make(chan struct{})}
}

// elapsed notes that seconds before sec have elapsed. Nil-safe.
func (rp *reporter) elapsed(sec int) {
	if rp == nil || int64(sec) <= rp.upTo.Load() {
		return
	}
	rp.upTo.Store(int64(sec))
	select {
	case rp.wake <- struct{}{}:
	default:
	}
}

func (rp *reporter) run() {
	defer close(rp.done)
	h := newHist()
	next := 0
	for {
		select {
		case <-rp.wake:
		case <-rp.stopped:
			for ; int64(next) < rp.upTo.Load(); next++ { // report what is left
				rp.fn(rp.tl.second(next, h))
			}
			return
		}
		for ; int64(next) < rp.upTo.Load(); next++ {
			rp.fn(rp.tl.second(next, h))
		}
	}
}

func (rp *reporter) close() {
	close(rp.stopped)
	<-rp.done
}
