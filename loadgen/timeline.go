package loadgen

import (
	"sort"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Timeline holds per-op counts and latency histograms keyed by the second
// (since the run's start) in which each request was SCHEDULED, so a stall
// shows up in the seconds whose requests it delayed. Safe for concurrent use.
type Timeline struct {
	start    time.Time
	duration time.Duration

	mu       sync.Mutex
	secs     []map[string]*bucket
	ops      map[string]struct{}
	frozenTo int // seconds before this were frozen once (stragglers may have thawed some)
}

func newTimeline(start time.Time, duration time.Duration) *Timeline {
	return &Timeline{start: start, duration: duration, ops: map[string]struct{}{}}
}

// Start is the instant scheduled offsets count from.
func (t *Timeline) Start() time.Time { return t.start }

// Duration is the planned length of the run, or how long it ran when it
// was stopped early.
func (t *Timeline) Duration() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.duration
}

func (t *Timeline) stoppedAt(d time.Duration) {
	t.mu.Lock()
	t.duration = min(t.duration, d)
	t.mu.Unlock()
}

// bucket returns the bucket of op for the scheduled offset off; t.mu is held.
func (t *Timeline) bucket(off time.Duration, op string) *bucket {
	sec := 0
	if off > 0 {
		sec = int(off / time.Second)
	}
	for len(t.secs) <= sec {
		t.secs = append(t.secs, map[string]*bucket{})
	}
	b := t.secs[sec][op]
	if b == nil {
		b = &bucket{}
		t.secs[sec][op] = b
		t.ops[op] = struct{}{}
	}
	return b
}

func (t *Timeline) offer(off time.Duration, op string) {
	t.mu.Lock()
	t.bucket(off, op).offered++
	t.mu.Unlock()
}

func (t *Timeline) send(off time.Duration, op string) {
	t.mu.Lock()
	t.bucket(off, op).sent++
	t.mu.Unlock()
}

func (t *Timeline) drop(off time.Duration, op string) {
	t.mu.Lock()
	t.bucket(off, op).dropped++
	t.mu.Unlock()
}

func (t *Timeline) record(r Result) {
	t.mu.Lock()
	t.bucket(r.Scheduled.Sub(t.start), r.Op).record(r)
	t.mu.Unlock()
}

// freezeBefore compacts the histograms of seconds before sec not frozen yet.
func (t *Timeline) freezeBefore(sec int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ; t.frozenTo < sec && t.frozenTo < len(t.secs); t.frozenTo++ {
		for _, b := range t.secs[t.frozenTo] {
			b.freeze()
		}
	}
}

// freezeAll compacts every histogram, thawed stragglers included.
func (t *Timeline) freezeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, sec := range t.secs {
		for _, b := range sec {
			b.freeze()
		}
	}
	t.frozenTo = len(t.secs)
}

// Ops lists the op names seen, sorted.
func (t *Timeline) Ops() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	ops := make([]string, 0, len(t.ops))
	for op := range t.ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// Window aggregates the seconds whose start lies in [from, to) for the given
// ops (none = all ops).
func (t *Timeline) Window(from, to time.Duration, ops ...string) Summary {
	return t.WindowWithout(from, to, nil, ops...)
}

// WindowWithout is Window leaving out the scheduled seconds in skip.
func (t *Timeline) WindowWithout(from, to time.Duration, skip map[int]bool, ops ...string) Summary {
	first := int((from + time.Second - 1) / time.Second)
	if from <= 0 {
		first = 0
	}
	last := int((to + time.Second - 1) / time.Second) // exclusive
	t.mu.Lock()
	defer t.mu.Unlock()
	var sel map[string]bool
	if len(ops) > 0 {
		sel = map[string]bool{}
		for _, op := range ops {
			sel[op] = true
		}
	}
	s := newSummary(opLabel(ops))
	h := newHist()
	for i := first; i < last && i < len(t.secs); i++ {
		if skip[i] {
			s.Skipped++
			continue
		}
		for op, b := range t.secs[i] {
			if sel == nil || sel[op] {
				s.add(b, h)
			}
		}
	}
	s.From = time.Duration(first) * time.Second
	s.To = min(time.Duration(last)*time.Second, t.duration)
	s.finish(h)
	return s
}

// Second is one scheduled second of the timeline.
type Second struct {
	Second int       `json:"second"`
	All    Summary   `json:"all"` // every op together
	Ops    []Summary `json:"ops"` // one per op, sorted by name
}

// Seconds returns every scheduled second so far, in order.
func (t *Timeline) Seconds() []Second {
	t.mu.Lock()
	n := len(t.secs)
	t.mu.Unlock()
	out := make([]Second, 0, n)
	h := newHist() // reused: a fresh one per summary would churn ~160 KiB each
	for i := 0; i < n; i++ {
		out = append(out, t.second(i, h))
	}
	return out
}

// second summarises scheduled second i, reusing scratch histogram h.
func (t *Timeline) second(i int, h *hdrhistogram.Histogram) Second {
	t.mu.Lock()
	defer t.mu.Unlock()
	from := time.Duration(i) * time.Second
	to := min(from+time.Second, t.duration) // the last second may be partial
	if to <= from {
		to = from + time.Second
	}
	sec := Second{Second: i, All: newSummary("")}
	var buckets map[string]*bucket
	if i < len(t.secs) {
		buckets = t.secs[i]
	}
	names := make([]string, 0, len(buckets))
	for op := range buckets {
		names = append(names, op)
	}
	sort.Strings(names)
	for _, op := range names {
		s := newSummary(op)
		h.Reset()
		s.add(buckets[op], h)
		s.From, s.To = from, to
		s.finish(h)
		sec.Ops = append(sec.Ops, s)
	}
	h.Reset()
	for _, op := range names {
		sec.All.add(buckets[op], h)
	}
	sec.All.From, sec.All.To = from, to
	sec.All.finish(h)
	return sec
}
