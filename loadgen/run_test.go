package loadgen

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// onScheduled sets the hook that runs when Run's schedule is over.
func onScheduled(t *testing.T, f func()) {
	testHookScheduled = f
	t.Cleanup(func() { testHookScheduled = nil })
}

// gatedServer answers requests whose ?seq= is in [from, to) only once gate
// is closed, and all others at once.
func gatedServer(t *testing.T, from, to uint64, gate <-chan struct{}) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.ParseUint(r.URL.Query().Get("seq"), 10, 64)
		if seq >= from && seq < to {
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func seqOp(srv *httptest.Server, maxInFlight int) *HTTPOp {
	return &HTTPOp{
		OpName: "get",
		Client: NewHTTPClient(maxInFlight),
		URL: func(seq uint64) (string, string) {
			s := strconv.FormatUint(seq, 10)
			return srv.URL + "/?seq=" + s, s
		},
	}
}

// waitForGoroutines awaits the goroutine count falling back to base.
func waitForGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, want <= %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
	}
}

func TestRunDropsWhenAllWorkersAreBusy(t *testing.T) {
	const offered = 50 // 200/s for 250 ms
	tests := []struct{ maxInFlight int }{{1}, {3}, {10}}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.maxInFlight), func(t *testing.T) {
			release := make(chan struct{})
			srv := gatedServer(t, 0, offered, release) // every request blocks
			op := seqOp(srv, tc.maxInFlight)
			defer op.Client.CloseIdleConnections()
			onScheduled(t, func() { close(release) })
			tl, err := Run(context.Background(), Plan{
				Rate: ConstantRate(200), Duration: 250 * time.Millisecond, MaxInFlight: tc.maxInFlight,
				Mix: []Weighted{{Op: op, Weight: 1}},
			})
			if err != nil {
				t.Fatal(err)
			}
			s := tl.Window(0, time.Second)
			want := Summary{Offered: offered, Sent: int64(tc.maxInFlight), Dropped: offered - int64(tc.maxInFlight),
				Completed: int64(tc.maxInFlight), OK: int64(tc.maxInFlight), Attempts: int64(tc.maxInFlight)}
			if s.Offered != want.Offered || s.Sent != want.Sent || s.Dropped != want.Dropped ||
				s.Completed != want.Completed || s.OK != want.OK || s.Attempts != want.Attempts {
				t.Errorf("got offered=%d sent=%d dropped=%d completed=%d ok=%d attempts=%d, want %+v",
					s.Offered, s.Sent, s.Dropped, s.Completed, s.OK, s.Attempts, want)
			}
		})
	}
}

// TestRunHasNoCoordinatedOmission stalls the requests scheduled in the middle
// of the run until a later request arrives. That the stall ends at all shows
// that sending never waited for answers; the test checks that the stall did
// not vanish from the latencies either.
func TestRunHasNoCoordinatedOmission(t *testing.T) {
	const (
		rate                      = 200
		stallFrom, stallTo        = 50, 150 // seqs held until seq stallTo arrives
		total                     = rate
		maxInFlight               = 2 * total
		releasedBySeq      uint64 = stallTo
	)
	gate := make(chan struct{})
	var (
		mu         sync.Mutex
		releasedAt time.Time
		results    []Result
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.ParseUint(r.URL.Query().Get("seq"), 10, 64)
		switch {
		case seq == releasedBySeq:
			mu.Lock()
			releasedAt = time.Now()
			mu.Unlock()
			close(gate)
		case seq >= stallFrom && seq < stallTo:
			select {
			case <-gate:
			case <-r.Context().Done():
			}
		}
	}))
	defer srv.Close()
	op := seqOp(srv, maxInFlight)
	defer op.Client.CloseIdleConnections()
	tl, err := Run(context.Background(), Plan{
		Rate: ConstantRate(rate), Duration: time.Second, MaxInFlight: maxInFlight,
		Mix:      []Weighted{{Op: op, Weight: 1}},
		OnResult: func(r Result) { mu.Lock(); results = append(results, r); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	s := tl.Window(0, time.Second)
	if s.Offered != total || s.Sent != total || s.Dropped != 0 || s.OK != total || len(results) != total {
		t.Fatalf("offered=%d sent=%d dropped=%d ok=%d results=%d, want all %d sent and OK",
			s.Offered, s.Sent, s.Dropped, s.OK, len(results), total)
	}
	ideal := make([]time.Duration, 0, total)
	for _, r := range results {
		trueLatency := time.Duration(0)
		if r.Seq >= stallFrom && r.Seq < stallTo {
			trueLatency = releasedAt.Sub(r.Scheduled)
		}
		if r.Latency < trueLatency {
			t.Errorf("seq %d: latency %v < %v between its scheduled send and the end of the stall", r.Seq, r.Latency, trueLatency)
		}
		ideal = append(ideal, trueLatency)
	}
	// Each latency is at least its true value, so each percentile is too
	// (same rank rule as HDR: the round(q*n)-th smallest).
	slices.Sort(ideal)
	at := func(q float64) time.Duration { return ideal[max(int(q*float64(len(ideal))+0.5), 1)-1] }
	pcts := []struct {
		name      string
		got, want time.Duration
	}{{"p50", s.P50, at(0.50)}, {"p90", s.P90, at(0.90)}, {"p99", s.P99, at(0.99)}, {"max", s.Max, ideal[len(ideal)-1]}}
	for _, p := range pcts {
		if p.got < p.want {
			t.Errorf("%s = %v, below the true %v", p.name, p.got, p.want)
		}
	}
}

func TestRunStopsCleanlyOnCancel(t *testing.T) {
	tests := []struct {
		name string
		op   func(t *testing.T, cancel context.CancelFunc) (Op, func())
	}{
		{"func op", func(t *testing.T, cancel context.CancelFunc) (Op, func()) {
			return FuncOp("f", func(ctx context.Context, seq uint64) Result {
				if seq == 20 {
					cancel()
				}
				if seq >= 10 {
					<-ctx.Done()
					return Result{Err: ctx.Err().Error(), ErrClass: Classify(ctx.Err(), 0)}
				}
				return Result{Code: 200}
			}), func() {}
		}},
		{"http op against a hung server", func(t *testing.T, cancel context.CancelFunc) (Op, func()) {
			hang := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("seq") == "20" {
					cancel()
				}
				select {
				case <-hang:
				case <-r.Context().Done():
				}
			}))
			op := seqOp(srv, 64)
			return op, func() { op.Client.CloseIdleConnections(); close(hang); srv.Close() }
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			op, cleanup := tc.op(t, cancel)
			tl, err := Run(ctx, Plan{
				Rate: ConstantRate(500), Duration: time.Hour, MaxInFlight: 64,
				Mix: []Weighted{{Op: op, Weight: 1}}, Policy: Policy{Retry: RetryImmediate, MaxAttempts: 3},
			})
			cleanup()
			if !errors.Is(err, context.Canceled) || tl == nil {
				t.Fatalf("Run = %v, %v; want the timeline and context.Canceled", tl, err)
			}
			if d := tl.Duration(); d <= 0 || d >= time.Hour {
				t.Errorf("Duration() = %v, want how long it ran", d)
			}
			s := tl.Window(0, time.Hour)
			if s.Offered < 21 || s.Sent+s.Dropped != s.Offered || s.Completed+s.Canceled != s.Sent {
				t.Errorf("offered=%d sent=%d dropped=%d completed=%d canceled=%d: some request unaccounted for",
					s.Offered, s.Sent, s.Dropped, s.Completed, s.Canceled)
			}
			if s.Canceled == 0 || s.Errors[ClassCanceled] != 0 || s.ErrorRate != 0 {
				t.Errorf("canceled=%d errors=%v rate=%v: a stop must not look like server errors", s.Canceled, s.Errors, s.ErrorRate)
			}
			if s.Attempts != s.Sent {
				t.Errorf("attempts=%d sent=%d: canceled requests must not be retried", s.Attempts, s.Sent)
			}
			waitForGoroutines(t, base)
		})
	}
}

func TestRunUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var seconds []Second
	ok := FuncOp("ok", func(context.Context, uint64) Result { return Result{Code: 200} })
	before := time.Now()
	tl, err := Run(ctx, Plan{
		Rate: ConstantRate(100), UntilCancelled: true, MaxInFlight: 4,
		Mix:      []Weighted{{Op: ok, Weight: 1}},
		OnSecond: func(s Second) { seconds = append(seconds, s) },
	})
	if !errors.Is(err, context.DeadlineExceeded) || tl == nil {
		t.Fatalf("Run = %v, %v; want the timeline and the context's error", tl, err)
	}
	// Run starts its clock a moment after the context's: under -race on a
	// busy box, up to tens of milliseconds
	if d, ran := tl.Duration(), time.Since(before); d < 200*time.Millisecond || d > ran {
		t.Errorf("Duration() = %v, want how long it ran (the call took %v, the context lasted 300ms)", d, ran)
	}
	if s := tl.Window(0, time.Hour); s.Offered < 10 || s.OK+s.Dropped+s.Canceled != s.Offered {
		t.Errorf("offered=%d ok=%d dropped=%d canceled=%d", s.Offered, s.OK, s.Dropped, s.Canceled)
	}
	if len(seconds) == 0 || seconds[0].All.Offered == 0 {
		t.Errorf("OnSecond saw %v, want the seconds it ran", seconds)
	}
}

func TestRunReportsEachSecondOnceInOrder(t *testing.T) {
	var seconds []Second // OnSecond runs on one goroutine, Run waits for it
	ok := FuncOp("ok", func(context.Context, uint64) Result { return Result{Code: 200} })
	other := FuncOp("other", func(context.Context, uint64) Result { return Result{Code: 200} })
	tl, err := Run(context.Background(), Plan{
		Rate: ConstantRate(50), Duration: 2 * time.Second, MaxInFlight: 4, Seed: 1,
		Mix:      []Weighted{{Op: ok, Weight: 3}, {Op: other, Weight: 1}},
		OnSecond: func(s Second) { seconds = append(seconds, s) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seconds) != 2 || seconds[0].Second != 0 || seconds[1].Second != 1 {
		t.Fatalf("OnSecond saw seconds %v, want [0 1]", seconds)
	}
	for _, s := range seconds {
		if s.All.Offered != 50 {
			t.Errorf("second %d reported %d offered, want 50", s.Second, s.All.Offered)
		}
	}
	all := tl.Window(0, 2*time.Second)
	okOnly := tl.Window(0, 2*time.Second, "ok")
	if all.Offered != 100 || all.OK != 100 || all.Dropped != 0 {
		t.Errorf("offered=%d ok=%d dropped=%d, want 100 100 0", all.Offered, all.OK, all.Dropped)
	}
	if okOnly.Offered <= 50 || okOnly.Offered == 100 {
		t.Errorf("op ok got %d of 100 requests at weight 3:1", okOnly.Offered)
	}
	if got := tl.Ops(); !slices.Equal(got, []string{"ok", "other"}) {
		t.Errorf("Ops() = %v", got)
	}
}

func TestMixIsReproducible(t *testing.T) {
	a := FuncOp("a", nil)
	b := FuncOp("b", nil)
	picks := func(seed int64) string {
		m, err := newMix(Plan{Seed: seed, Mix: []Weighted{{Op: a, Weight: 9}, {Op: b, Weight: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		for range 1000 {
			sb.WriteString(m.pick().op.Name())
		}
		return sb.String()
	}
	tests := []struct {
		seedA, seedB int64
		same         bool
	}{{1, 1, true}, {1, 2, false}}
	for _, tc := range tests {
		if got := picks(tc.seedA) == picks(tc.seedB); got != tc.same {
			t.Errorf("seeds %d and %d: same sequence = %v, want %v", tc.seedA, tc.seedB, got, tc.same)
		}
	}
	if n := strings.Count(picks(3), "b"); n < 50 || n > 150 {
		t.Errorf("weight 1 of 10 picked %d of 1000 times", n)
	}
}

func TestPlanValidate(t *testing.T) {
	op := FuncOp("a", nil)
	good := Plan{Rate: ConstantRate(1), Duration: time.Second, MaxInFlight: 1, Mix: []Weighted{{Op: op, Weight: 1}}}
	tests := []struct {
		name    string
		edit    func(p *Plan)
		wantErr []string
	}{
		{"valid", func(p *Plan) {}, nil},
		{"no rate", func(p *Plan) { p.Rate = nil }, []string{"Rate"}},
		{"no duration", func(p *Plan) { p.Duration = 0 }, []string{"Duration"}},
		{"negative duration", func(p *Plan) { p.Duration = -time.Second }, []string{"Duration"}},
		{"until cancelled", func(p *Plan) { p.Duration, p.UntilCancelled = 0, true }, nil},
		{"duration and until cancelled", func(p *Plan) { p.UntilCancelled = true }, []string{"Duration", "UntilCancelled"}},
		{"no workers", func(p *Plan) { p.MaxInFlight = 0 }, []string{"MaxInFlight"}},
		{"negative drop wait", func(p *Plan) { p.DropAfter = -1 }, []string{"DropAfter"}},
		{"empty mix", func(p *Plan) { p.Mix = nil }, []string{"Mix is empty"}},
		{"nil op", func(p *Plan) { p.Mix = []Weighted{{Weight: 1}} }, []string{"Op is nil"}},
		{"zero weight", func(p *Plan) { p.Mix = []Weighted{{Op: op}} }, []string{"Weight"}},
		{"duplicate op", func(p *Plan) { p.Mix = append(p.Mix, Weighted{Op: op, Weight: 1}) }, []string{"twice"}},
		{"bad op", func(p *Plan) { p.Mix = []Weighted{{Op: &HTTPOp{OpName: "h"}, Weight: 1}} }, []string{"URL func"}},
		{"bad plan policy", func(p *Plan) { p.Policy.Timeout = -1 }, []string{"Timeout"}},
		{"bad op policy", func(p *Plan) { p.Mix[0].Policy = &Policy{Retry: RetryBackoff, MaxAttempts: 2} }, []string{"Mix[0]", "BaseBackoff"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			p.Mix = slices.Clone(good.Mix)
			tc.edit(&p)
			err := p.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
			if _, err := Run(context.Background(), p); err == nil {
				t.Error("Run accepted an invalid plan")
			}
		})
	}
}
