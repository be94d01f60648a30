package experiments

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// A weak baseline names its worst second: how many answered OK and why
// the rest did not, so a CI log says what went wrong.
func TestWeakBaselineNamesItsWorstSecond(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// at 50/s, requests 101..150 are the ones scheduled in second 2
		if n := served.Add(1); n > 100 && n <= 150 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	client := loadgen.NewHTTPClient(16)
	defer client.CloseIdleConnections()
	op := &loadgen.HTTPOp{OpName: "get", Client: client, URL: func(uint64) (string, string) { return srv.URL, "" }}
	tl, err := loadgen.Run(context.Background(), loadgen.Plan{
		Rate:        func(time.Duration) float64 { return 50 },
		Duration:    4 * time.Second,
		MaxInFlight: 16,
		Mix:         []loadgen.Weighted{{Op: op, Weight: 1}},
		Policy:      loadgen.Policy{Timeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &Run{Timeline: tl, FaultAt: 4 * time.Second, RecoverAt: 4 * time.Second, RecoveredAt: 4 * time.Second, End: 4 * time.Second}
	got := r.baselineProblem()
	for _, want := range []string{"offered before the fault", "worst second 2s: 0 OK of 50 offered", "http5xx 50"} {
		if !strings.Contains(got, want) {
			t.Errorf("baselineProblem() = %q, want it to contain %q", got, want)
		}
	}
}

// Recovery is timed from the mark a measure names: from Recover (the fix
// started) or from RecoveredAt (the fix landed), to the first second of
// the streak of good seconds that lasts to the end of the run.
func TestRecoveryTimeFromEitherMark(t *testing.T) {
	// at 50/s the requests scheduled in seconds 0 and 1 (seq < 100) fail,
	// whatever order they arrive in
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seq, _ := strconv.Atoi(r.URL.Query().Get("seq")); seq < 100 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	client := loadgen.NewHTTPClient(16)
	defer client.CloseIdleConnections()
	op := &loadgen.HTTPOp{OpName: "get", Client: client, URL: func(seq uint64) (string, string) { return fmt.Sprintf("%s?seq=%d", srv.URL, seq), "" }}
	tl, err := loadgen.Run(context.Background(), loadgen.Plan{
		Rate:        func(time.Duration) float64 { return 50 },
		Duration:    4 * time.Second,
		MaxInFlight: 16,
		Mix:         []loadgen.Weighted{{Op: op, Weight: 1}},
		Policy:      loadgen.Policy{Timeout: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(d int) time.Duration { return time.Duration(d) * time.Millisecond }
	cases := []struct {
		name               string
		recover, recovered time.Duration
		measure            Measure
		want               float64
		wantErr            string
	}{
		{"from Recover", ms(500), ms(1500), RecoveredWithin(0.01), 1.5, ""},
		{"from the fix landing, errors after it", ms(500), ms(1500), BackAfterFix(0.01), 0.5, ""},
		{"from the fix landing, already good", ms(500), ms(2500), BackAfterFix(0.01), 0, ""},
		{"an op with no requests never recovers", ms(500), ms(1500), RecoveredWithin(0.01, "other"), 0, "never fell to 1.0%"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &Run{Timeline: tl, FaultAt: 0, RecoverAt: c.recover, RecoveredAt: c.recovered, End: 4 * time.Second}
			got, err := c.measure(r)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got %v, %v; want error %q", got, err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
}
