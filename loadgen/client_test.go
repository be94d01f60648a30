package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// flakyServer answers each idempotency key with `fails` errors (status
// failCode, with an optional Retry-After) and then 200, recording the arrival
// time of every attempt per key.
type flakyServer struct {
	*httptest.Server
	fails      int
	failCode   int
	retryAfter string

	mu       sync.Mutex
	arrivals map[string][]time.Time
}

func newFlakyServer(t *testing.T, fails, failCode int, retryAfter string) *flakyServer {
	f := &flakyServer{fails: fails, failCode: failCode, retryAfter: retryAfter, arrivals: map[string][]time.Time{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		f.mu.Lock()
		f.arrivals[key] = append(f.arrivals[key], time.Now())
		n := len(f.arrivals[key])
		f.mu.Unlock()
		if n <= f.fails {
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			w.WriteHeader(f.failCode)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *flakyServer) attempts(key string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.arrivals[key]...)
}

func (f *flakyServer) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, a := range f.arrivals {
		n += len(a)
	}
	return n
}

// keyedOp posts to srv with Idempotency-Key "k<seq>".
func keyedOp(srv *httptest.Server) *HTTPOp {
	client := NewHTTPClient(8)
	return &HTTPOp{
		OpName: "write",
		Method: http.MethodPost,
		Client: client,
		URL:    func(seq uint64) (string, string) { return srv.URL + "/write", "k" + strconv.FormatUint(seq, 10) },
		Header: func(_ uint64, key string) http.Header { return http.Header{"Idempotency-Key": {key}} },
	}
}

func TestClientRetryModes(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name         string
		policy       Policy
		fails        int
		failCode     int
		wantAttempts int
		wantCode     int
	}{
		{"none gives up at once", Policy{}, 1, 503, 1, 503},
		{"none ignores MaxAttempts", Policy{MaxAttempts: 5}, 1, 503, 1, 503},
		{"immediate recovers", Policy{Retry: RetryImmediate, MaxAttempts: 3}, 1, 503, 2, 200},
		{"immediate exhausts attempts", Policy{Retry: RetryImmediate, MaxAttempts: 3}, 5, 503, 3, 503},
		{"backoff recovers", Policy{Retry: RetryBackoff, MaxAttempts: 4, BaseBackoff: ms, MaxBackoff: 4 * ms}, 2, 503, 3, 200},
		{"backoff with jitter recovers", Policy{Retry: RetryBackoff, MaxAttempts: 4, BaseBackoff: ms, Jitter: true}, 3, 503, 4, 200},
		{"429 is retried", Policy{Retry: RetryImmediate, MaxAttempts: 3}, 1, 429, 2, 200},
		{"404 is not retried", Policy{Retry: RetryImmediate, MaxAttempts: 3}, 1, 404, 1, 404},
		{"success is not retried", Policy{Retry: RetryImmediate, MaxAttempts: 3}, 0, 503, 1, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFlakyServer(t, tc.fails, tc.failCode, "")
			op := keyedOp(srv.Server)
			defer op.Client.CloseIdleConnections()
			c, err := NewClient(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			scheduled := time.Now()
			r := c.Do(context.Background(), op, 7, scheduled)
			if r.Attempts != tc.wantAttempts || r.Code != tc.wantCode {
				t.Fatalf("attempts=%d code=%d, want %d %d (err %q)", r.Attempts, r.Code, tc.wantAttempts, tc.wantCode, r.Err)
			}
			// Every attempt reached the server under the same idempotency key.
			if got := len(srv.attempts("k7")); got != tc.wantAttempts || srv.total() != tc.wantAttempts {
				t.Errorf("server saw %d attempts for k7 (%d in all), want %d", got, srv.total(), tc.wantAttempts)
			}
			if r.Key != "k7" || r.Op != "write" || r.Seq != 7 || !r.Scheduled.Equal(scheduled) || r.Sent.Before(scheduled) {
				t.Errorf("identity/timing fields wrong: %+v", r)
			}
			if r.Latency < r.Sent.Sub(r.Scheduled) {
				t.Errorf("latency %v shorter than the wait before sending %v", r.Latency, r.Sent.Sub(r.Scheduled))
			}
		})
	}
}

func TestClientLatencyCountsFromScheduled(t *testing.T) {
	srv := newFlakyServer(t, 0, 0, "")
	op := keyedOp(srv.Server)
	defer op.Client.CloseIdleConnections()
	c, _ := NewClient(Policy{})
	scheduled := time.Now().Add(-time.Hour) // pretend the send was an hour late
	r := c.Do(context.Background(), op, 1, scheduled)
	if !r.OK() || r.Latency < time.Hour {
		t.Fatalf("OK=%v latency=%v, want OK and >= 1h (measured from the schedule)", r.OK(), r.Latency)
	}
}

func TestClientHonoursRetryAfterAsLowerBound(t *testing.T) {
	tests := []struct {
		name    string
		honour  bool
		minGap  time.Duration
		attempt int
	}{
		{"honoured", true, time.Second, 2},
		{"ignored", false, 0, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newFlakyServer(t, 1, 503, "1")
			op := keyedOp(srv.Server)
			defer op.Client.CloseIdleConnections()
			c, err := NewClient(Policy{Retry: RetryBackoff, MaxAttempts: 2, BaseBackoff: time.Millisecond, HonourRetryAfter: tc.honour})
			if err != nil {
				t.Fatal(err)
			}
			r := c.Do(context.Background(), op, 3, time.Time{})
			if r.Attempts != tc.attempt || !r.OK() {
				t.Fatalf("attempts=%d OK=%v, want %d true", r.Attempts, r.OK(), tc.attempt)
			}
			at := srv.attempts("k3")
			if len(at) != 2 {
				t.Fatalf("server saw %d attempts, want 2", len(at))
			}
			if gap := at[1].Sub(at[0]); gap < tc.minGap {
				t.Errorf("retry came %v after the 503, want at least %v", gap, tc.minGap)
			}
		})
	}
}

func TestClientDeadlineStopsRetries(t *testing.T) {
	// Retry-After 1s cannot fit into a 900ms deadline: the retry is not made.
	srv := newFlakyServer(t, 5, 503, "1")
	op := keyedOp(srv.Server)
	defer op.Client.CloseIdleConnections()
	c, _ := NewClient(Policy{Retry: RetryImmediate, MaxAttempts: 5, HonourRetryAfter: true, Deadline: 900 * time.Millisecond})
	r := c.Do(context.Background(), op, 1, time.Time{})
	if r.Attempts != 1 || r.Code != 503 || srv.total() != 1 {
		t.Fatalf("attempts=%d code=%d server=%d, want one attempt", r.Attempts, r.Code, srv.total())
	}
}

func TestClientRetryBudgetExhaustion(t *testing.T) {
	tests := []struct {
		name   string
		budget float64
		want   []int // attempts per sequential logical request
	}{
		// Retry allowed while retries+1 <= budget x first attempts (window).
		{"half", 0.5, []int{1, 2, 1, 2, 1, 2, 1, 2, 1, 2}},
		{"a tenth", 0.1, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 2}},
		{"unlimited", 0, []int{3, 3, 3, 3, 3, 3, 3, 3, 3, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFlakyServer(t, 1<<30, 503, "")
			op := keyedOp(srv.Server)
			defer op.Client.CloseIdleConnections()
			c, err := NewClient(Policy{Retry: RetryImmediate, MaxAttempts: 3, RetryBudget: tc.budget})
			if err != nil {
				t.Fatal(err)
			}
			frozen := time.Unix(1700000000, 0)
			c.now = func() time.Time { return frozen } // all inside one budget window
			total := 0
			for i, want := range tc.want {
				r := c.Do(context.Background(), op, uint64(i), time.Time{})
				if r.Attempts != want {
					t.Errorf("request %d: %d attempts, want %d", i, r.Attempts, want)
				}
				total += want
			}
			if srv.total() != total {
				t.Errorf("server saw %d attempts, want %d", srv.total(), total)
			}
		})
	}
}

func TestRetryBudgetWindowSlides(t *testing.T) {
	b := newRetryBudget(1)
	t0 := time.Unix(1700000000, 0)
	steps := []struct {
		at      time.Duration
		firsts  int
		retries int // attempted
		granted int
	}{
		{0, 2, 3, 2},                       // 2 firsts fund 2 retries
		{500 * time.Millisecond, 0, 1, 0},  // still the same window
		{1500 * time.Millisecond, 1, 2, 1}, // the old traffic has aged out
		{1550 * time.Millisecond, 1, 1, 1},
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		for range s.firsts {
			b.first(now)
		}
		granted := 0
		for range s.retries {
			if b.tryRetry(now) {
				granted++
			}
		}
		if granted != s.granted {
			t.Errorf("step %d (+%v): granted %d retries, want %d", i, s.at, granted, s.granted)
		}
	}
	if newRetryBudget(0) != nil {
		t.Error("a zero budget should mean unlimited (nil)")
	}
}

// A request whose retry the stopping run cuts off is cancelled, like one in
// flight at the stop; one whose own deadline ends its retries keeps its
// last answer, a real failure.
func TestClientRunStopDuringBackoffIsCancelled(t *testing.T) {
	srv := newFlakyServer(t, 5, 503, "1")
	op := keyedOp(srv.Server)
	defer op.Client.CloseIdleConnections()
	c, _ := NewClient(Policy{Retry: RetryImmediate, MaxAttempts: 5, HonourRetryAfter: true, Deadline: 10 * time.Second})
	run, stop := context.WithCancel(context.Background()) // as the runner stops its load
	defer stop()
	time.AfterFunc(300*time.Millisecond, stop)
	r := c.Do(run, op, 1, time.Time{})
	if r.ErrClass != ClassCanceled || r.Code != 0 || r.Attempts != 1 {
		t.Fatalf("class=%q code=%d attempts=%d err=%q, want cancelled after one attempt", r.ErrClass, r.Code, r.Attempts, r.Err)
	}
	b := &bucket{}
	b.record(r)
	if b.canceled != 1 || b.completed != 0 {
		t.Errorf("bucket counted canceled=%d completed=%d, want 1, 0", b.canceled, b.completed)
	}

	c, _ = NewClient(Policy{Retry: RetryImmediate, MaxAttempts: 5, HonourRetryAfter: true, Deadline: 300 * time.Millisecond})
	if r := c.Do(context.Background(), op, 2, time.Time{}); r.ErrClass != ClassHTTP5xx || r.Code != 503 {
		t.Errorf("own deadline: class=%q code=%d, want the 503 kept", r.ErrClass, r.Code)
	}
}

// A status the op expects (a seat found taken: 409) is an answer: OK, no
// error class; an unexpected 409 and a 503 stay errors.
func TestHTTPOpExpectedStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(code)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		code     int
		expected []int
		ok       bool
		class    string
	}{
		{409, []int{409}, true, ""},
		{409, nil, false, ClassHTTP4xx},
		{503, []int{409}, false, ClassHTTP5xx},
		{200, []int{409}, true, ""},
	} {
		op := &HTTPOp{OpName: "x", Client: srv.Client(), Expected: tc.expected,
			URL: func(uint64) (string, string) { return srv.URL + "/?code=" + strconv.Itoa(tc.code), "" }}
		res := op.Do(context.Background(), 1)
		if res.OK() != tc.ok || res.ErrClass != tc.class {
			t.Errorf("%d with expected %v: ok %v class %q, want %v %q", tc.code, tc.expected, res.OK(), res.ErrClass, tc.ok, tc.class)
		}
	}
}
