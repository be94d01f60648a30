package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"testing"
	"time"
)

func TestXFetch(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name        string
		left, delta time.Duration
		u           float64
		want        bool
	}{
		{"expired always refreshes", 0, 100 * ms, 0.999, true},
		{"far from expiry", time.Hour, 100 * ms, 1e-9, false},
		{"unlucky draw near expiry", 50 * ms, 100 * ms, 0.99, false},
		{"lucky draw near expiry", 50 * ms, 100 * ms, 0.5, true}, // -200ms*ln(0.5) = 139ms >= 50ms
		{"u = 1 never refreshes early", ms, 100 * ms, 1, false},
	}
	for _, tc := range tests {
		if got := xfetch(tc.left, tc.delta, xfetchBeta, tc.u); got != tc.want {
			t.Errorf("%s: xfetch(%v, %v, %v, %v) = %v, want %v", tc.name, tc.left, tc.delta, xfetchBeta, tc.u, got, tc.want)
		}
	}
}

// The chance of an early refresh is exp(-left/(beta*delta)): check it on
// a grid of u instead of sampling, so the test is exact.
func TestXFetchProbabilityGrowsNearExpiry(t *testing.T) {
	delta := 100 * time.Millisecond
	share := func(left time.Duration) float64 {
		const n = 10000
		hits := 0
		for i := 1; i <= n; i++ {
			if xfetch(left, delta, xfetchBeta, float64(i)/n) {
				hits++
			}
		}
		return float64(hits) / n
	}
	prev := 0.0
	for _, left := range []time.Duration{2 * time.Second, time.Second, 400 * time.Millisecond, 100 * time.Millisecond, 10 * time.Millisecond} {
		got := share(left)
		want := math.Exp(-float64(left) / (xfetchBeta * float64(delta)))
		if math.Abs(got-want) > 0.001 {
			t.Errorf("left %v: refresh share %.4f, want %.4f", left, got, want)
		}
		if got < prev {
			t.Errorf("left %v: share %.4f fell from %.4f as expiry neared", left, got, prev)
		}
		prev = got
	}
}

func TestHomeEntryRoundTrip(t *testing.T) {
	in := homeEntry{delta: 123456 * time.Microsecond, payload: "50 items: a:b"}
	out, err := decodeHome(in.encode())
	if err != nil || out != in {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", in, out, err)
	}
	for _, bad := range []string{"", "x", "12", "-5:page", "abc:page", "9223372036854775807:page"} {
		if _, err := decodeHome(bad); err == nil {
			t.Errorf("decodeHome(%q) accepted a malformed entry", bad)
		}
	}
}

// getHomes fires n concurrent GET /home and returns how many answered 200.
func getHomes(t *testing.T, a *api, n int) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range n {
		wg.Go(func() {
			r, err := doErr(client, "GET", a.base+"/home", "")
			if err == nil && r.code == http.StatusOK {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ok
}

func TestHomeStampedeAndCoalescing(t *testing.T) {
	e := needEnv(t)
	for _, tc := range []struct {
		prot         string
		minRebuilds  int64
		maxRebuilds  int64
		wantAllServe bool
	}{
		// every concurrent reader that finds the key missing rebuilds it
		{"none", 10, 40, false},
		{"coalesce", 1, 1, true},
	} {
		t.Run(tc.prot, func(t *testing.T) {
			e.flushRedis(t)
			a := e.startAPI(t, "--protections", tc.prot, "--rebuild-cost", "300ms", "--db-pool", "40")
			// Open the API's Redis connections first with bursts of hits:
			// 40 dials at once can time out (200 ms) on a busy box, and a
			// Redis error is not what this test is about.
			if r := do(t, "GET", a.base+"/home", ""); r.code != 200 {
				t.Fatalf("first read: %d %s", r.code, r.body)
			}
			err := waitFor(10*time.Second, func() error {
				if n := getHomes(t, a, 40); n != 40 {
					return fmt.Errorf("%d of 40 hits answered", n)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.rdb(t).Del(context.Background(), homeKey).Err(); err != nil {
				t.Fatal(err)
			}
			before := a.stats(t).Home
			served := getHomes(t, a, 40)
			after := a.stats(t).Home
			rebuilds := after.Rebuilds - before.Rebuilds
			if rebuilds < tc.minRebuilds || rebuilds > tc.maxRebuilds {
				t.Fatalf("40 concurrent readers of a missing key: %d rebuilds, want %d..%d", rebuilds, tc.minRebuilds, tc.maxRebuilds)
			}
			if tc.wantAllServe && served != 40 {
				t.Fatalf("%d of 40 coalesced readers answered 200", served)
			}
			if got := after.Misses - before.Misses; got < rebuilds {
				t.Fatalf("%d misses for %d rebuilds", got, rebuilds)
			}
		})
	}
}

// With early_refresh on, reads near expiry rebuild the key before it goes:
// under steady reads the key is never missing.
func TestHomeEarlyRefreshKeepsKey(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	a := e.startAPI(t, "--protections", "early_refresh,coalesce", "--rebuild-cost", "50ms", "--home-ttl", "1h")
	if r := do(t, "GET", a.base+"/home", ""); r.code != 200 {
		t.Fatalf("first read: %d %s", r.code, r.body)
	}
	rdb := e.rdb(t)
	if err := rdb.PExpire(context.Background(), homeKey, 600*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	before := a.stats(t).Home
	deadline := time.Now().Add(1200 * time.Millisecond) // past the 600ms expiry
	for time.Now().Before(deadline) {
		if r := do(t, "GET", a.base+"/home", ""); r.code != 200 {
			t.Fatalf("read: %d %s", r.code, r.body)
		}
		time.Sleep(5 * time.Millisecond) // ~200 reads/s
	}
	after := a.stats(t).Home
	if m := after.Misses - before.Misses; m != 0 {
		t.Fatalf("%d misses: the key expired before an early refresh", m)
	}
	if r := after.Rebuilds - before.Rebuilds; r < 1 || r > 2 {
		t.Fatalf("%d rebuilds; want 1 (or 2 if a draw came just after one ended)", r)
	}
	if ttl := rdb.PTTL(context.Background(), homeKey).Val(); ttl < 50*time.Minute {
		t.Fatalf("TTL after the early refresh is %v, want the full hour", ttl)
	}
}
