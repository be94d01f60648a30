package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestPriorityAndClientHeaders(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{{"", "low", true}, {"low", "low", true}, {"high", "high", true}, {"HIGH", "", false}, {"urgent", "", false}} {
		got, err := priorityOf(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("priorityOf(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{{"", "anonymous", true}, {"user-1", "user-1", true}, {"has space", "", false}, {string(make([]byte, 101)), "", false}} {
		got, err := clientOf(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("clientOf(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func checkoutReq(t *testing.T, a *api, item int, hdr ...string) reply {
	t.Helper()
	return do(t, "POST", a.base+"/checkout", fmt.Sprintf(`{"item_id":%d}`, item), append([]string{"Content-Type", "application/json"}, hdr...)...)
}

func TestCheckoutValidates(t *testing.T) {
	e := needEnv(t)
	a := e.startAPI(t, "--protections", "none")
	for _, tc := range []struct {
		name string
		body string
		hdr  []string
	}{
		{"item 0", `{"item_id":0}`, nil},
		{"item past the stock", `{"item_id":11}`, nil},
		{"no item", `{}`, nil},
		{"bad priority", `{"item_id":1}`, []string{"X-Priority", "urgent"}},
		{"bad client id", `{"item_id":1}`, []string{"X-Client-ID", "a b"}},
	} {
		r := do(t, "POST", a.base+"/checkout", tc.body, append([]string{"Content-Type", "application/json"}, tc.hdr...)...)
		if r.code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tc.name, r.code, r.body)
		}
	}
	if r := checkoutReq(t, a, 3, "X-Priority", "high"); r.code != 200 {
		t.Fatalf("valid checkout: %d %s", r.code, r.body)
	}
	if s := a.stats(t).Checkout; s.OK != 1 || s.Requests != 1 {
		t.Fatalf("checkout stats %+v: want one request, one ok (400s are not checkouts)", s)
	}
}

func TestCheckoutRateLimitPerClient(t *testing.T) {
	e := needEnv(t)
	a := e.startAPI(t, "--protections", "rate_limit", "--client-rate", "0.01", "--client-burst", "2")
	for i := range 2 {
		if r := checkoutReq(t, a, 1, "X-Client-ID", "scraper"); r.code != 200 {
			t.Fatalf("request %d within the burst: %d %s", i+1, r.code, r.body)
		}
	}
	r := checkoutReq(t, a, 1, "X-Client-ID", "scraper")
	if r.code != http.StatusTooManyRequests || r.hdr.Get("Retry-After") == "" {
		t.Fatalf("past the burst: %d Retry-After=%q, want 429 with Retry-After", r.code, r.hdr.Get("Retry-After"))
	}
	if r := checkoutReq(t, a, 1, "X-Client-ID", "someone-else"); r.code != 200 {
		t.Fatalf("another client: %d %s", r.code, r.body)
	}
}

// With both slots taken by checkouts holding their row for 700 ms, a
// low-priority checkout is shed once it waited its 100 ms, and a
// high-priority one waits for a slot and succeeds.
func TestCheckoutPriorityShedding(t *testing.T) {
	e := needEnv(t)
	a := e.startAPI(t, "--protections", "priority_shed,retry_after", "--checkout-slots", "2",
		"--shed-wait-low", "100ms", "--shed-wait-high", "5s", "--checkout-hold", "700ms")
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { checkoutReq(t, a, 5, "X-Priority", "high") })
	}
	defer wg.Wait()
	err := waitFor(5*time.Second, func() error {
		if n := a.stats(t).Checkout.InFlight; n != 2 {
			return fmt.Errorf("%d checkouts in flight", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := checkoutReq(t, a, 6, "X-Priority", "low")
	if r.code != http.StatusServiceUnavailable || r.hdr.Get("Retry-After") == "" || r.took < 100*time.Millisecond || r.took > 600*time.Millisecond { // admitted, it would take 700 ms more
		t.Fatalf("low priority past its wait: %d Retry-After=%q in %v, want 503 with Retry-After after its 100 ms wait", r.code, r.hdr.Get("Retry-After"), r.took)
	}
	if r := checkoutReq(t, a, 6, "X-Priority", "high"); r.code != 200 {
		t.Fatalf("high priority within its wait: %d %s", r.code, r.body)
	}
	if s := a.stats(t).Checkout; s.Shed != 1 {
		t.Fatalf("shed %d, want 1", s.Shed)
	}
}
