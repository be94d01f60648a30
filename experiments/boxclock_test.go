package experiments

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStalledSecondsTakeTheSecondBefore(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name string
		late []time.Duration
		want []int
	}{
		{"a busy box is not a stall", []time.Duration{40 * ms, 49 * ms, 0}, nil},
		{"one stall", []time.Duration{0, 0, 50 * ms, 0}, []int{1, 2}},
		{"stall in the first second", []time.Duration{120 * ms, 0}, []int{-1, 0}},
		{"two apart", []time.Duration{0, 90 * ms, 0, 0, 60 * ms}, []int{0, 1, 3, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := stalledSeconds(c.late)
			if len(got) != len(c.want) {
				t.Fatalf("stalledSeconds = %v, want %v", got, c.want)
			}
			for _, s := range c.want {
				if !got[s] {
					t.Errorf("second %d not left out: %v", s, got)
				}
			}
		})
	}
	if n := boxNote([]time.Duration{0, 90 * ms, 0, 60 * ms}); !strings.Contains(n, "second 1, 3 ") || !strings.Contains(n, "worst 90ms") {
		t.Errorf("boxNote = %q, want the stalled seconds and the worst", n)
	}
	if n := boxNote([]time.Duration{10 * ms}); n != "" {
		t.Errorf("boxNote without a stall = %q, want none", n)
	}
}

// CalmP99 leaves out the seconds a box stall could have slowed, and
// refuses to judge a window that stalled in more than a quarter of it.
func TestCalmP99LeavesOutStalledSeconds(t *testing.T) {
	tl := fourSecondsAt50Serving(t, func(seq int, w http.ResponseWriter) {
		if seq < 50 { // second 0 answers slowly
			time.Sleep(100 * time.Millisecond)
		}
		w.WriteHeader(http.StatusOK)
	})
	ms := time.Millisecond
	cases := []struct {
		name    string
		late    []time.Duration
		wantLow bool // P99 from the fast seconds only
		wantErr string
	}{
		{"no stall: the slow second counts", []time.Duration{0, 0, 0, 0}, false, ""},
		{"stall in second 0: left out", []time.Duration{80 * ms, 0, 0, 0}, true, ""},
		{"stalls around 3 of 4 seconds", []time.Duration{80 * ms, 0, 70 * ms, 0}, false, "too few left to judge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &Run{Timeline: tl, RecoverAt: 4 * time.Second, RecoveredAt: 4 * time.Second, End: 4 * time.Second, BoxLate: c.late}
			got, err := CalmP99(Faulted, "get")(r)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, %v; want error %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if low := got < 0.05; low != c.wantLow {
				t.Errorf("p99 %.3fs, want below 50 ms: %v", got, c.wantLow)
			}
		})
	}
}

// The box clock records a second for every second it watched.
func TestWatchBoxCoversTheRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	late := watchBox(ctx, time.Now())
	if len(late) != 2 {
		t.Fatalf("%d seconds recorded over 1.2 s, want 2", len(late))
	}
}
