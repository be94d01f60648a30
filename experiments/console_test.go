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

// A service that did not answer a sample (SIGSTOPped) shows "?" for that
// second, and its counter's rate afterwards spans the gap: never the
// negative or inflated rate a missing key read as 0 would give.
func TestConsoleSkipsASilentService(t *testing.T) {
	var out syncBuffer
	x := Experiment{Watch: []string{"w.booked"}, Gauges: []string{"w.in_flight"}}
	c := newConsole(&out, &Run{Variant: Protected, Level: Normal}, x)
	sec := loadgen.Second{Second: 1, All: loadgen.Summary{From: 0, To: time.Second}}
	for i, vals := range []map[string]float64{
		{"w.booked": 100, "w.in_flight": 3},
		{"w.booked": 110, "w.in_flight": 4},
		{"in_flight": 0}, // the API answered, w did not
		{"w.booked": 130, "w.in_flight": 2},
	} {
		c.sample(Sample{At: time.Duration(i) * time.Second, Values: vals})
		c.second(sec)
	}
	lines := regexp.MustCompile(`\| w\.booked (\S+) \| w\.in_flight (\S+)`).FindAllStringSubmatch(out.String(), -1)
	var got [][2]string
	for _, l := range lines {
		got = append(got, [2]string{l[1], l[2]})
	}
	want := [][2]string{{"10/s", "4"}, {"?", "?"}, {"10/s", "2"}}
	if len(got) != len(want) {
		t.Fatalf("lines %v, want %v:\n%s", got, want, out.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %v, want %v:\n%s", i, got[i], want[i], out.String())
		}
	}
}
