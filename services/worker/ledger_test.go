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

func TestLedgerBehind(t *testing.T) {
	l := newLedger()
	now := time.Now()
	if _, ok := l.behind(0, now); ok {
		t.Fatal("a partition with nothing finished has no age")
	}
	l.finish(event{id: 1, partition: 0, produced: now.Add(-3 * time.Second)}, now)
	l.finish(event{id: 2, partition: 0, produced: now.Add(-5 * time.Second)}, now) // older, finished later
	if age, _ := l.behind(0, now); age != 3*time.Second {
		t.Errorf("behind %v, want 3s: the newest event finished there", age)
	}
}
