package experiments

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// syncBuffer is a bytes.Buffer the console and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// A pile-up reads as a pile-up: while a dead dependency holds every request
// until the client's timeout (db-failover's unprotected window), a second's
// line shows its requests in flight, and the timeouts appear as errors on
// the line printed when they fire.
func TestConsoleShowsAPileUpWhileItHappens(t *testing.T) {
	start := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if time.Since(start) < time.Second {
			return // healthy for the first second
		}
		<-r.Context().Done() // then a dead primary: nothing answers
	}))
	defer srv.Close()
	client := loadgen.NewHTTPClient(500)
	defer client.CloseIdleConnections()
	op := &loadgen.HTTPOp{OpName: "write", Client: client,
		URL: func(seq uint64) (string, string) { return srv.URL + "/?seq=" + strconv.FormatUint(seq, 10), "" }}
	var out syncBuffer
	con := &console{w: &out, name: "unprotected/normal", ph: Faulted}
	_, err := loadgen.Run(context.Background(), loadgen.Plan{
		Rate: loadgen.ConstantRate(40), Duration: 4 * time.Second, MaxInFlight: 500,
		Mix:      []loadgen.Weighted{{Op: op, Weight: 1}},
		Policy:   loadgen.Policy{Timeout: 1500 * time.Millisecond},
		OnSecond: con.second, OnResult: con.result,
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := out.String()
	flight := regexp.MustCompile(`flight +(\d+)`)
	ended := regexp.MustCompile(`ended ok +\d+ err +(\d+) \(timeout (\d+)\)`)
	piled, timedOut := 0, 0
	for _, m := range flight.FindAllStringSubmatch(lines, -1) {
		n, _ := strconv.Atoi(m[1])
		piled = max(piled, n)
	}
	for _, m := range ended.FindAllStringSubmatch(lines, -1) {
		n, _ := strconv.Atoi(m[2])
		timedOut = max(timedOut, n)
	}
	// 40 requests a second: a stalled second's line has most of them in flight,
	// and a later line reports most of a second's worth timing out
	if piled < 20 {
		t.Errorf("no line shows the pile-up (most in flight %d, want >= 20):\n%s", piled, lines)
	}
	if timedOut < 20 {
		t.Errorf("no line shows the timeouts as they fire (most %d, want >= 20):\n%s", timedOut, lines)
	}
}
