package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestShedLimit(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name          string
		pool          int
		wait, service time.Duration
		want          int64
	}{
		{"no queue", 4, 0, 20 * ms, 4},
		{"250ms at 200/s", 4, 250 * ms, 20 * ms, 54},
		{"2s at 200/s", 4, 2 * time.Second, 20 * ms, 404},
		{"a slower database admits less", 4, 250 * ms, 40 * ms, 29},
		{"nothing learned yet sheds nothing", 4, time.Second, 0, 1 << 40},
	}
	for _, tc := range tests {
		if got := shedLimit(tc.pool, tc.wait, tc.service); got != tc.want {
			t.Errorf("%s: shedLimit(%d, %v, %v) = %d, want %d", tc.name, tc.pool, tc.wait, tc.service, got, tc.want)
		}
	}
}

func TestShedderAdmitsUpToLimit(t *testing.T) {
	var s shedder
	for i := range 3 {
		if !s.admit(3) {
			t.Fatalf("request %d refused under the limit", i+1)
		}
	}
	if s.admit(3) {
		t.Fatal("fourth request admitted over a limit of 3")
	}
	s.release()
	if !s.admit(3) {
		t.Fatal("a released slot was not reusable")
	}
	if got := s.inFlight.Load(); got != 3 {
		t.Fatalf("in flight %d, want 3", got)
	}
}

// fillQuotes holds every slot of /quote (shed_wait 0: the pool's 4
// connections) with slow quotes and returns once all four are admitted;
// wait() returns when they have finished.
func fillQuotes(t *testing.T, a *api) (wait func()) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() { do(t, "GET", fmt.Sprintf("%s/quote/%d", a.base, 10+i), "") })
	}
	err := waitFor(5*time.Second, func() error {
		if n := a.stats(t).Quote.InFlight; n != 4 {
			return fmt.Errorf("%d quotes in flight", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return wg.Wait
}

func TestQuoteShedsAtCapacity(t *testing.T) {
	e := needEnv(t)
	for _, tc := range []struct {
		prot   string
		header string
	}{
		{"shed_early,retry_after", "1"},
		{"shed_early", ""},
	} {
		t.Run(tc.prot, func(t *testing.T) {
			a := e.startAPI(t, "--protections", tc.prot, "--query-cost", "600ms", "--shed-wait", "0s")
			if r := do(t, "GET", a.base+"/quote/1", ""); r.code != 200 {
				t.Fatalf("quote under capacity: %d %s", r.code, r.body)
			}
			done := fillQuotes(t, a)
			before := a.stats(t).Quote
			r := do(t, "GET", a.base+"/quote/2", "")
			if r.code != http.StatusServiceUnavailable || r.hdr.Get("Retry-After") != tc.header {
				t.Fatalf("over capacity: %d Retry-After=%q %s; want 503 %q", r.code, r.hdr.Get("Retry-After"), r.body, tc.header)
			}
			if r.took > 300*time.Millisecond { // queued, it would wait for a 600 ms quote
				t.Errorf("shedding took %v: it must not queue", r.took)
			}
			done()
			after := a.stats(t).Quote
			if after.Shed != before.Shed+1 || after.Served != before.Served+4 {
				t.Fatalf("quote stats %+v -> %+v: want one more shed, four more served", before, after)
			}
		})
	}
}

// A shed quote through the chain: the naive layers each try twice (the BFF
// two calls, each of which makes the internal service call /quote twice);
// with internal_no_retry every layer calls once and passes the 503 and its
// Retry-After up.
func TestQuoteChainRetriesOnlyWhenUnprotected(t *testing.T) {
	e := needEnv(t)
	for _, tc := range []struct {
		prot                 string
		bff, pricing, quotes int64
		header               string
	}{
		{"shed_early,retry_after", 2, 4, 4, "2"}, // four sheds, booked 150 ms apart after the 1 s floor
		{"shed_early,retry_after,internal_no_retry", 1, 1, 1, "1"},
		{"shed_early", 2, 4, 4, ""},
	} {
		t.Run(tc.prot, func(t *testing.T) {
			a := e.startAPI(t, "--protections", tc.prot, "--query-cost", "600ms", "--shed-wait", "0s")
			done := fillQuotes(t, a)
			before := a.stats(t)
			r := do(t, "GET", a.base+"/bff/quote/3", "")
			if r.code != http.StatusServiceUnavailable || r.hdr.Get("Retry-After") != tc.header {
				t.Fatalf("BFF over capacity: %d Retry-After=%q %s; want 503 %q", r.code, r.hdr.Get("Retry-After"), r.body, tc.header)
			}
			after := a.stats(t)
			got := []int64{
				after.BFF.Requests - before.BFF.Requests, after.BFF.Upstream - before.BFF.Upstream,
				after.Pricing.Requests - before.Pricing.Requests, after.Pricing.Upstream - before.Pricing.Upstream,
				after.Quote.Requests - before.Quote.Requests,
			}
			want := []int64{1, tc.bff, tc.bff, tc.pricing, tc.quotes}
			if !slices.Equal(got, want) {
				t.Fatalf("BFF requests, BFF calls, pricing requests, pricing calls, quote arrivals = %v, want %v", got, want)
			}
			done()
		})
	}
}

// A client that gives up cancels the whole chain, naive or not: the storm
// comes from retries only, never from work done for a caller that left.
func TestQuoteChainEndsWithItsCaller(t *testing.T) {
	e := needEnv(t)
	for _, prot := range []string{"shed_early", "shed_early,internal_no_retry"} {
		t.Run(prot, func(t *testing.T) {
			a := e.startAPI(t, "--protections", prot, "--query-cost", "400ms")
			before := a.stats(t)
			short := &http.Client{Timeout: 100 * time.Millisecond}
			if _, err := doErr(short, "GET", a.base+"/bff/quote/4", ""); err == nil {
				t.Fatal("a 400ms quote answered within the client's 100ms")
			}
			err := waitFor(5*time.Second, func() error {
				if s := a.stats(t); s.Quote.InFlight != 0 || s.InFlight != 0 {
					return fmt.Errorf("quote in flight %d, requests in flight %d", s.Quote.InFlight, s.InFlight)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			after := a.stats(t)
			if got := after.Quote.Served - before.Quote.Served; got != 0 {
				t.Fatalf("%d quotes served after the caller left, want 0", got)
			}
			if got := after.BFF.Upstream - before.BFF.Upstream; got != 1 {
				t.Fatalf("the BFF made %d calls for a caller that left, want 1", got)
			}
		})
	}
}
