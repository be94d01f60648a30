package breaker

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is advanced by hand so every transition is deterministic.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var testCfg = Config{Window: time.Second, Buckets: 10, MinCalls: 10, FailureRatio: 0.5,
	SlowCall: 100 * time.Millisecond, Cooldown: 30 * time.Second}

// step advances the clock, then makes n sequential calls that all end with
// outcome o after took; it checks how many were admitted and the state.
type step struct {
	after   time.Duration
	n       int
	o       Outcome
	took    time.Duration
	allowed int
	state   State
}

func TestStateMachine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		opens int64
	}{
		{
			name:  "successes keep it closed",
			steps: []step{{n: 50, o: Success, allowed: 50, state: Closed}},
		},
		{
			name:  "too few calls never open",
			steps: []step{{n: 9, o: Failure, allowed: 9, state: Closed}},
		},
		{
			name: "half failed opens and rejects",
			steps: []step{
				{n: 5, o: Success, allowed: 5, state: Closed},
				{n: 5, o: Failure, allowed: 5, state: Open},
				{n: 7, o: Success, allowed: 0, state: Open},
			},
			opens: 1,
		},
		{
			name: "below ratio stays closed",
			steps: []step{
				{n: 6, o: Success, allowed: 6, state: Closed},
				{n: 4, o: Failure, allowed: 4, state: Closed},
			},
		},
		{
			name: "slow successes count as failures",
			steps: []step{
				{n: 10, o: Success, took: 150 * time.Millisecond, allowed: 10, state: Open},
			},
			opens: 1,
		},
		{
			name: "ignored calls do not count",
			steps: []step{
				{n: 20, o: Ignore, allowed: 20, state: Closed},
				{n: 9, o: Failure, allowed: 9, state: Closed},
			},
		},
		{
			name: "old failures age out of the window",
			steps: []step{
				{n: 9, o: Failure, allowed: 9, state: Closed},
				{after: 1100 * time.Millisecond, n: 9, o: Failure, allowed: 9, state: Closed},
				{n: 1, o: Failure, allowed: 1, state: Open},
			},
			opens: 1,
		},
		{
			name: "cooldown then probe success closes",
			steps: []step{
				{n: 10, o: Failure, allowed: 10, state: Open},
				{after: 29 * time.Second, n: 3, o: Success, allowed: 0, state: Open},
				{after: time.Second, n: 1, o: Success, allowed: 1, state: Closed},
				{n: 5, o: Success, allowed: 5, state: Closed},
			},
			opens: 1,
		},
		{
			name: "probe failure opens again for a full cooldown",
			steps: []step{
				{n: 10, o: Failure, allowed: 10, state: Open},
				{after: 30 * time.Second, n: 1, o: Failure, allowed: 1, state: Open},
				{after: 29 * time.Second, n: 1, o: Success, allowed: 0, state: Open},
				{after: time.Second, n: 1, o: Success, allowed: 1, state: Closed},
			},
			opens: 2,
		},
		{
			name: "slow probe is a failure",
			steps: []step{
				{n: 10, o: Failure, allowed: 10, state: Open},
				{after: 30 * time.Second, n: 1, o: Success, took: time.Second, allowed: 1, state: Open},
			},
			opens: 2,
		},
		{
			name: "ignored probe releases the next one",
			steps: []step{
				{n: 10, o: Failure, allowed: 10, state: Open},
				{after: 30 * time.Second, n: 1, o: Ignore, allowed: 1, state: HalfOpen},
				{n: 1, o: Success, allowed: 1, state: Closed},
			},
			opens: 1,
		},
		{
			name: "closing forgets earlier failures",
			steps: []step{
				{n: 10, o: Failure, allowed: 10, state: Open},
				{after: 30 * time.Second, n: 1, o: Success, allowed: 1, state: Closed},
				{n: 9, o: Failure, allowed: 9, state: Closed},
			},
			opens: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			b := New(testCfg, clk.Now)
			var rejected int64
			for i, s := range tc.steps {
				clk.Add(s.after)
				allowed := 0
				for range s.n {
					tk, ok := b.Allow()
					if !ok {
						rejected++
						continue
					}
					allowed++
					b.Done(tk, s.o, s.took)
				}
				if allowed != s.allowed {
					t.Fatalf("step %d: allowed %d of %d, want %d", i, allowed, s.n, s.allowed)
				}
				if got := b.State(); got != s.state {
					t.Fatalf("step %d: state %v, want %v", i, got, s.state)
				}
			}
			st := b.Stats()
			if st.Opens != tc.opens || st.Rejected != rejected {
				t.Fatalf("stats opens=%d rejected=%d, want %d and %d", st.Opens, st.Rejected, tc.opens, rejected)
			}
		})
	}
}

func TestHalfOpenAdmitsOneProbe(t *testing.T) {
	clk := newClock()
	b := New(testCfg, clk.Now)
	trip(b)
	clk.Add(testCfg.Cooldown)
	probe, ok := b.Allow()
	if !ok {
		t.Fatal("probe refused after cooldown")
	}
	for range 5 {
		if _, ok := b.Allow(); ok {
			t.Fatal("second call admitted while the probe is in flight")
		}
	}
	b.Done(probe, Success, 0)
	if b.State() != Closed {
		t.Fatalf("state %v after probe success", b.State())
	}
}

func TestStaleTicketsAreIgnored(t *testing.T) {
	clk := newClock()
	b := New(testCfg, clk.Now)
	// Tickets issued while closed, reported after the breaker opened and
	// went half-open, must not close it nor count as the probe.
	var old []Ticket
	for range 10 {
		tk, _ := b.Allow()
		old = append(old, tk)
	}
	trip(b)
	clk.Add(testCfg.Cooldown)
	probe, ok := b.Allow()
	if !ok {
		t.Fatal("probe refused")
	}
	for _, tk := range old {
		b.Done(tk, Success, 0)
	}
	if b.State() != HalfOpen {
		t.Fatalf("stale successes changed state to %v", b.State())
	}
	b.Done(probe, Failure, 0)
	if b.State() != Open {
		t.Fatalf("state %v after probe failure", b.State())
	}
}

func TestResetAndRuntimeSettings(t *testing.T) {
	clk := newClock()
	b := New(testCfg, clk.Now)
	trip(b)
	b.Reset()
	if b.State() != Closed {
		t.Fatalf("state %v after Reset", b.State())
	}
	if b.Stats().Opens != 1 {
		t.Fatal("Reset cleared the monotonic opens counter")
	}
	trip(b)
	b.SetCooldown(2 * time.Second) // applies to the current open period
	clk.Add(2 * time.Second)
	if b.State() != HalfOpen {
		t.Fatalf("state %v after shortened cooldown", b.State())
	}
	b.SetSlowCall(0)
	b.Reset()
	for range 10 {
		tk, _ := b.Allow()
		b.Done(tk, Success, time.Hour)
	}
	if b.State() != Closed {
		t.Fatal("slow call threshold 0 should disable slowness")
	}
}

func TestDefaults(t *testing.T) {
	b := New(Config{}, nil)
	if b.Cooldown() != 30*time.Second || b.State() != Closed {
		t.Fatalf("defaults: cooldown %v state %v", b.Cooldown(), b.State())
	}
}

func TestConcurrentUse(t *testing.T) {
	b := New(Config{Cooldown: time.Millisecond}, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				if tk, ok := b.Allow(); ok {
					b.Done(tk, Outcome((g+i)%3), time.Duration(i))
				}
				_ = b.Stats()
			}
		})
	}
	wg.Wait()
}

func trip(b *Breaker) {
	for range 10 {
		if tk, ok := b.Allow(); ok {
			b.Done(tk, Failure, 0)
		}
	}
}
