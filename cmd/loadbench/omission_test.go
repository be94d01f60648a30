package main

import (
	"testing"
	"time"
)

func TestTrueLatencies(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name           string
		rate           int
		d, from, to    time.Duration
		wantP50        time.Duration
		wantP90        time.Duration
		wantP99        time.Duration
		wantMax        time.Duration
		wantStalledMin time.Duration // smallest non-zero latency
	}{
		// 1000/s for 10s, stall [4s, 6s): 2000 requests wait 2000..1 ms.
		{"brief's scenario", 1000, 10 * time.Second, 4 * time.Second, 6 * time.Second,
			0, 1000 * ms, 1900 * ms, 2000 * ms, ms},
		{"no stall", 100, time.Second, 0, 0, 0, 0, 0, 0, 0},
		// 10/s for 1s, stall [0, 1s): latencies 1000, 900, ..., 100 ms.
		{"whole run stalled", 10, time.Second, 0, time.Second, 500 * ms, 900 * ms, 1000 * ms, 1000 * ms, 100 * ms},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lat := trueLatencies(tc.rate, tc.d, tc.from, tc.to)
			if len(lat) != int(float64(tc.rate)*tc.d.Seconds()) {
				t.Fatalf("%d latencies", len(lat))
			}
			got := []time.Duration{quantile(lat, 0.5), quantile(lat, 0.9), quantile(lat, 0.99), quantile(lat, 1)}
			want := []time.Duration{tc.wantP50, tc.wantP90, tc.wantP99, tc.wantMax}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("quantiles p50/p90/p99/max = %v, want %v", got, want)
					break
				}
			}
			var minStalled time.Duration
			for _, l := range lat {
				if l > 0 {
					minStalled = l
					break
				}
			}
			if minStalled != tc.wantStalledMin {
				t.Errorf("smallest stalled latency %v, want %v", minStalled, tc.wantStalledMin)
			}
		})
	}
}
