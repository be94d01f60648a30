package experiments

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// A weak baseline names its worst second: how many answered OK and why
// the rest did not, so a CI log says what went wrong.
func TestWeakBaselineNamesItsWorstSecond(t *testing.T) {
	tl := fourSecondsAt50(t, func(seq int) bool { return seq >= 100 && seq < 150 }) // second 2 fails
	r := &Run{Timeline: tl, FaultAt: 4 * time.Second, RecoverAt: 4 * time.Second, RecoveredAt: 4 * time.Second, End: 4 * time.Second}
	got := r.baselineProblem()
	for _, want := range []string{"offered before the fault", "worst second 2s: 0 OK of 50 offered", "http5xx 50"} {
		if !strings.Contains(got, want) {
			t.Errorf("baselineProblem() = %q, want it to contain %q", got, want)
		}
	}
}

// A baseline whose answers are already degraded (a breaker tripped at the
// start) is weak too, though every answer is a 200.
func TestDegradedBaselineIsWeak(t *testing.T) {
	tl := fourSecondsAt50Serving(t, func(seq int, w http.ResponseWriter) {
		if seq >= 100 && seq < 110 {
			w.Header().Set("X-Degraded", "1")
		}
		w.WriteHeader(http.StatusOK)
	})
	r := &Run{Timeline: tl, FaultAt: 4 * time.Second, RecoverAt: 4 * time.Second, RecoveredAt: 4 * time.Second, End: 4 * time.Second}
	if got := r.baselineProblem(); !strings.Contains(got, "degraded answers before the fault") {
		t.Errorf("baselineProblem() = %q, want degraded answers named", got)
	}
	clean := fourSecondsAt50Serving(t, func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusOK) })
	r.Timeline = clean
	if got := r.baselineProblem(); got != "" {
		t.Errorf("clean baseline: %q, want none", got)
	}
}

// Recovery is timed from the mark a measure names: from Recover (the fix
// started) or from RecoveredAt (the fix landed), to the first second of
// the streak of good seconds that lasts to the end of the run.
func TestRecoveryTimeFromEitherMark(t *testing.T) {
	tl := fourSecondsAt50(t, func(seq int) bool { return seq < 100 }) // seconds 0 and 1 fail
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
		{"an op with no requests never recovers", ms(500), ms(1500), RecoveredWithin(0.01, "other"), 0, "never fell to 1.0% in the 3.5s observed"},
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

// fourSecondsAt50 plays 4 s of GETs at 50/s against a server that fails
// (503) the requests whose scheduled sequence number fail picks, whatever
// order they arrive in: request seq is scheduled in second seq/50.
func fourSecondsAt50(t *testing.T, fail func(seq int) bool) *loadgen.Timeline {
	t.Helper()
	return fourSecondsAt50Serving(t, func(seq int, w http.ResponseWriter) {
		if fail(seq) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// fourSecondsAt50Serving plays the same load against serve.
func fourSecondsAt50Serving(t *testing.T, serve func(seq int, w http.ResponseWriter)) *loadgen.Timeline {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, err := strconv.Atoi(r.URL.Query().Get("seq"))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		serve(seq, w)
	}))
	t.Cleanup(srv.Close)
	client := loadgen.NewHTTPClient(16)
	t.Cleanup(client.CloseIdleConnections)
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
	return tl
}

// Requests of the baseline that the fault caught in flight (scheduled
// before it began, failed after) are the fault's: they do not make the
// baseline weak. The same failures before the fault do.
func TestFaultCaughtRequestsAreNotTheBaselines(t *testing.T) {
	tl := fourSecondsAt50(t, func(seq int) bool { return seq >= 100 && seq < 110 }) // 10 of second 2 fail: 5% of 200
	start := time.Now()
	for _, tc := range []struct {
		name     string
		began    time.Duration // when the fault began; 0: never
		wantWeak bool
	}{
		{"failed before the fault", 0, true},
		{"failed after the fault began", 2500 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Run{Timeline: tl, Start: start, FaultAt: 4 * time.Second, RecoverAt: 4 * time.Second, RecoveredAt: 4 * time.Second, End: 4 * time.Second}
			if tc.began > 0 {
				r.faultHit.faultBegins(tc.began)
			}
			for i := range 10 {
				r.faultHit.result(loadgen.Result{Scheduled: start.Add(2*time.Second + time.Duration(i)*20*time.Millisecond), Code: 503}, start)
			}
			r.faultHit.result(loadgen.Result{Scheduled: start.Add(3 * time.Second), Code: 200}, start) // OK: never noted
			if got := r.baselineProblem(); (got != "") != tc.wantWeak {
				t.Errorf("baselineProblem() = %q, want weak: %v", got, tc.wantWeak)
			}
		})
	}
}
