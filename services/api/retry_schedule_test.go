package main

import (
	"testing"
	"time"
)

func TestRetryScheduleSpreadsABacklog(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	tests := []struct {
		name  string
		sheds []time.Duration // when each request was shed, from t0
		floor time.Duration
		slot  time.Duration
		want  []time.Duration
	}{
		{"unknown capacity: the floor", []time.Duration{0, 0, 0}, time.Second, 0, []time.Duration{time.Second, time.Second, time.Second}},
		{"a backlog within the floor", []time.Duration{0, 100 * ms, 200 * ms}, time.Second, 10 * ms, []time.Duration{time.Second, time.Second, time.Second}},
		{"a burst longer than the floor queues", []time.Duration{0, 0, 0}, time.Second, 500 * ms, []time.Duration{time.Second, 1500 * ms, 2 * time.Second}},
		{"old bookings are past", []time.Duration{0, 5 * time.Second}, time.Second, 500 * ms, []time.Duration{time.Second, time.Second}},
	}
	for _, tc := range tests {
		var s retrySchedule
		for i, at := range tc.sheds {
			if got := s.book(t0.Add(at), tc.floor, tc.slot); got != tc.want[i] {
				t.Errorf("%s: shed %d at +%v: come back after %v, want %v", tc.name, i, at, got, tc.want[i])
			}
		}
	}
}

func TestRetryScheduleReset(t *testing.T) {
	var s retrySchedule
	now := time.Unix(1000, 0)
	s.book(now, time.Second, time.Minute)
	s.reset()
	if got := s.book(now, time.Second, time.Minute); got != time.Second {
		t.Fatalf("after reset: %v, want the floor", got)
	}
}

func TestWholeSecondsRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]int64{0: 0, time.Second: 1, 1001 * time.Millisecond: 2, 2500 * time.Millisecond: 3} {
		if got := wholeSeconds(d); got != want {
			t.Errorf("wholeSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}
