package experiments

import (
	"context"
	"net/http"
	"net/http/httptest"
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
