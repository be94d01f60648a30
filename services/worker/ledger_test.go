package main

import (
	"reflect"
	"testing"
	"time"
)

func TestLedgerReport(t *testing.T) {
	l := newLedger()
	now := time.Now()
	for _, id := range []int64{5, 1, 2, 3, 9, 2, 10, 2} {
		l.finish(event{id: id, produced: now}, now)
	}
	r := l.report("g")
	if want := [][2]int64{{1, 3}, {5, 5}, {9, 10}}; !reflect.DeepEqual(r.Ranges, want) {
		t.Errorf("ranges %v, want %v", r.Ranges, want)
	}
	if want := map[int64]uint32{2: 3}; !reflect.DeepEqual(r.Repeated, want) {
		t.Errorf("repeated %v, want %v", r.Repeated, want)
	}
	if r.Records != 8 || r.Distinct != 6 {
		t.Errorf("records %d distinct %d, want 8 and 6", r.Records, r.Distinct)
	}
}

func TestLedgerDelays(t *testing.T) {
	l := newLedger()
	now := time.Now()
	for _, d := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 300 * time.Millisecond, 3 * time.Second, 2 * time.Hour} {
		l.finish(event{id: int64(d), produced: now.Add(-d)}, now)
	}
	got := l.delayCounts()
	want := map[string]int64{"100ms": 2, "250ms": 2, "500ms": 3, "1s": 3, "2s": 3, "5s": 4, "10s": 4, "30s": 4, "1m0s": 4, "+Inf": 5}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("delays %v, want %v", got, want)
	}
}

func TestLedgerOldestPossible(t *testing.T) {
	l := newLedger()
	l.started = time.Unix(1000, 0)
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	if got := l.oldestPossible(0); !got.Equal(at(1000)) {
		t.Fatalf("nothing finished or seen: %v, want the group's start", got)
	}
	l.finish(event{id: 1, partition: 0, produced: at(1003)}, at(1010))
	l.finish(event{id: 2, partition: 0, produced: at(1001)}, at(1011)) // older, finished later
	if got := l.oldestPossible(0); !got.Equal(at(1003)) {
		t.Errorf("%v, want 1003: the newest event finished there", got.Unix())
	}
	l.caughtUp(0, at(1020)) // a sparse partition: seen empty after its last record
	if got := l.oldestPossible(0); !got.Equal(at(1020)) {
		t.Errorf("%v, want 1020: nothing unfinished can predate the last look that saw the partition caught up", got.Unix())
	}
	if got := l.oldestPossible(1); !got.Equal(at(1000)) {
		t.Errorf("another partition: %v, want the start", got.Unix())
	}
}
