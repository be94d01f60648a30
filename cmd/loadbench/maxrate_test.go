package main

import (
	"slices"
	"testing"
)

func TestRateSearch(t *testing.T) {
	tests := []struct {
		name     string
		capacity int          // rates up to this pass
		flaky    map[int]bool // rates whose first try fails anyway
		ceiling  int
		want     int
		tried    []int
	}{
		{name: "doubles then bisects", capacity: 5000, ceiling: 1 << 20, want: 5000,
			tried: []int{1000, 2000, 4000, 8000, 8000, 6000, 6000, 5000, 5500, 5500, 5250, 5250}},
		{name: "one hiccup does not end the search", capacity: 3000, flaky: map[int]bool{2000: true}, ceiling: 1 << 20, want: 3000,
			tried: []int{1000, 2000, 2000, 4000, 4000, 3000, 3500, 3500, 3250, 3250, 3125, 3125}},
		{name: "stops at the ceiling", capacity: 1 << 30, ceiling: 4000, want: 4000, tried: []int{1000, 2000, 4000}},
		{name: "nothing passes", capacity: 0, ceiling: 1 << 20, want: 0,
			tried: []int{1000, 1000, 500, 500, 250, 250, 125, 125, 62, 62, 31, 31, 15, 15, 7, 7, 3, 3, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newRateSearch(1000, tc.ceiling)
			var tried []int
			for !s.done && len(tried) < 100 {
				r := s.rate
				tried = append(tried, r)
				pass := r <= tc.capacity
				if tc.flaky[r] {
					pass = false
					delete(tc.flaky, r)
				}
				s.report(searchStep{Rate: r, Pass: pass})
			}
			if s.lo != tc.want || !slices.Equal(tried, tc.tried) {
				t.Errorf("found %d after %v, want %d after %v", s.lo, tried, tc.want, tc.tried)
			}
		})
	}
}
