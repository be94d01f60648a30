package main

import (
	"slices"
	"sync"
	"time"
)

// delayBuckets are the upper bounds of the delivery-delay histogram: the
// time from an event's production to the end of its group's work.
var delayBuckets = []time.Duration{
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
}

// ledger is what one group did since the last reset: how often it finished
// each event, the delays, and per partition the production time of the
// last event it finished (how far behind it runs). Safe for concurrent use.
type ledger struct {
	mu       sync.Mutex
	done     map[int64]uint32
	records  int64
	delays   []int64 // per bucket, the last one +Inf
	lastDone map[int32]time.Time
	upTo     map[int32]time.Time // per partition, when a look last saw it caught up
	started  time.Time
}

func newLedger() *ledger {
	return &ledger{done: map[int64]uint32{}, delays: make([]int64, len(delayBuckets)+1), lastDone: map[int32]time.Time{}, upTo: map[int32]time.Time{}, started: time.Now()}
}

func (l *ledger) finish(ev event, now time.Time) {
	d := now.Sub(ev.produced)
	i, _ := slices.BinarySearchFunc(delayBuckets, d, func(b, d time.Duration) int {
		if b < d {
			return -1
		}
		return 1
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done[ev.id]++
	l.records++
	l.delays[i]++
	if ev.produced.After(l.lastDone[ev.partition]) {
		l.lastDone[ev.partition] = ev.produced
	}
}

// caughtUp records that partition p had nothing left at t.
func (l *ledger) caughtUp(p int32, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.upTo[p] = t
}

// oldestPossible is the earliest production time an unfinished record on
// partition p can have: the latest of the production time of the last
// record finished there, the last time p was seen caught up, and the
// group's start.
func (l *ledger) oldestPossible(p int32) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.started
	if d := l.lastDone[p]; d.After(t) {
		t = d
	}
	if u := l.upTo[p]; u.After(t) {
		t = u
	}
	return t
}

// ledgerReport is GET /admin/consumed for one group: the event ids it
// finished, as sorted inclusive ranges, and those finished more than once.
type ledgerReport struct {
	Group    string           `json:"group"`
	Records  int64            `json:"records"`  // finished, repeats included
	Distinct int              `json:"distinct"` // event ids finished at least once
	Ranges   [][2]int64       `json:"ranges"`
	Repeated map[int64]uint32 `json:"repeated"` // id -> times finished, for those > 1
}

func (l *ledger) report(group string) ledgerReport {
	l.mu.Lock()
	ids := make([]int64, 0, len(l.done))
	rep := ledgerReport{Group: group, Records: l.records, Repeated: map[int64]uint32{}}
	for id, n := range l.done {
		ids = append(ids, id)
		if n > 1 {
			rep.Repeated[id] = n
		}
	}
	l.mu.Unlock()
	slices.Sort(ids)
	rep.Distinct = len(ids)
	rep.Ranges = [][2]int64{}
	for _, id := range ids {
		if n := len(rep.Ranges); n > 0 && rep.Ranges[n-1][1] == id-1 {
			rep.Ranges[n-1][1] = id
			continue
		}
		rep.Ranges = append(rep.Ranges, [2]int64{id, id})
	}
	return rep
}

// delayCounts are cumulative counts per bucket bound ("0.1s" ... "+Inf"),
// since the last reset.
func (l *ledger) delayCounts() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.delays))
	var sum int64
	for i, n := range l.delays {
		sum += n
		name := "+Inf"
		if i < len(delayBuckets) {
			name = delayBuckets[i].String()
		}
		out[name] = sum
	}
	return out
}
