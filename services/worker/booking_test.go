package main

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/services/internal/testpg"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

const redisServer = "/usr/bin/redis-server"

// startRedis runs a redis-server for one test on a free port.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(redisServer); err != nil {
		t.Skipf("integration test needs %s (Debian redis-server): %v", redisServer, err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(redisServer, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// newBookingRig is two booking workers (as the stack runs booker-a and
// booker-b) over one real Redis and one real Postgres, lock TTL ttl.
func newBookingRig(t *testing.T, protections string, ttl time.Duration) (a, b *rig) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	rdb := startRedis(t)
	return newLockRig(t, protections, ttl, func(cfg *flags) { cfg.redis = rdb })
}

// newLockRig is two booking workers over one real Postgres, their lock
// service set by locks.
func newLockRig(t *testing.T, protections string, ttl time.Duration, locks func(*flags)) (a, b *rig) {
	t.Helper()
	pg, err := testpg.Start()
	if errors.Is(err, testpg.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	serve := func(name string) *rig {
		cfg := flags{pg: pg.DSN, pipeline: pipelineBooking, name: name, protections: protections,
			startup: 10 * time.Second, knobs: knob.All.Defaults()}
		cfg.knobs[knob.LockTTL] = ttl
		locks(&cfg)
		return serveWorker(t, cfg)
	}
	return serve("a"), serve("b")
}

// TestLockExpiresUnderASlowHolder plays the seed's case D on real Redis
// and Postgres: a's checkout holds seat 1 for 4 TTLs; b's customer asks
// for the seat while a holds it. Which of the two is confirmed, and whether
// a's customer is refunded, is what the protections decide.
func TestLockExpiresUnderASlowHolder(t *testing.T) {
	const ttl = 250 * time.Millisecond
	for _, tc := range []struct {
		protections  string
		aCode, bCode int
		bookings     int64
		refunded     int64
		wantRenewals bool
	}{
		// the blind write: both customers confirmed
		{"none", http.StatusOK, http.StatusOK, 2, 0, false},
		// the fence refuses a's late write; a's customer is refunded
		{"fencing_token", http.StatusConflict, http.StatusOK, 1, 1, false},
		// a keeps its lock; b finds the seat taken
		{"fencing_token,lease_renewal", http.StatusOK, http.StatusConflict, 1, 0, true},
	} {
		t.Run(tc.protections, func(t *testing.T) {
			a, b := newBookingRig(t, tc.protections, ttl)
			var aCode int
			var aBody []byte
			done := make(chan struct{})
			go func() {
				defer close(done)
				aCode, aBody = a.callNoFatal(http.MethodPost, "/book/1?user=10&hold="+(4*ttl).String())
			}()
			time.Sleep(ttl / 5) // a holds the lock by now
			bCode, bBody := b.call(t, http.MethodPost, "/book/1?user=11&hold=10ms", "")
			<-done
			if aCode != tc.aCode || bCode != tc.bCode {
				t.Errorf("a %d %s, b %d %s; want a %d, b %d", aCode, aBody, bCode, bBody, tc.aCode, tc.bCode)
			}
			var bookings, refunded int64
			a.scan(t, `SELECT count(*) FROM bookings WHERE seat = 1`, &bookings)
			a.scan(t, `SELECT count(*) FROM charges WHERE refunded_at IS NOT NULL`, &refunded)
			if bookings != tc.bookings || refunded != tc.refunded {
				t.Errorf("bookings %d, refunded %d; want %d, %d", bookings, refunded, tc.bookings, tc.refunded)
			}
			if got := a.w.book.count.renewals.Load() > 0; got != tc.wantRenewals {
				t.Errorf("renewals %d, want some: %v", a.w.book.count.renewals.Load(), tc.wantRenewals)
			}
		})
	}
}

// TestBookingRefusesBadInput: a bad seat, customer or hold is a 400 with
// the reason, before any lock is taken.
func TestBookingRefusesBadInput(t *testing.T) {
	a, _ := newBookingRig(t, "all", time.Second)
	for _, path := range []string{
		"/book/x?user=1", "/book/-1?user=1", "/book/1", "/book/1?user=-2", "/book/1?user=1&hold=soon",
		"/book/1?user=1&hold=-1s", "/book/1?user=1&hold=2m", "/book/99999999999999999999?user=1",
	} {
		code, body := a.call(t, http.MethodPost, path, "")
		if code != http.StatusBadRequest || !strings.Contains(string(body), "want") {
			t.Errorf("POST %s: %d %s, want 400 with the reason", path, code, body)
		}
	}
	if n := a.w.book.attempts.Load(); n != 0 {
		t.Errorf("%d checkouts attempted on bad input", n)
	}
}

// callNoFatal is call for a goroutine other than the test's.
func (r *rig) callNoFatal(method, path string) (int, []byte) {
	req, err := http.NewRequest(method, r.srv.URL+path, nil)
	if err != nil {
		return 0, []byte(err.Error())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	var sb strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&sb)
	return resp.StatusCode, []byte(sb.String())
}

func TestStallClock(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	for _, tc := range []struct {
		ticks      []int // ms after t0
		since, now int
		want       bool
	}{
		{[]int{10, 20, 30}, 0, 35, false},
		{[]int{10, 20, 500}, 0, 505, true},    // a gap of 480 ms ended after since
		{[]int{10, 20, 500}, 600, 605, false}, // the gap ended before since
		{[]int{10, 20}, 0, 400, true},         // a gap still open: the ticker has not run since
	} {
		s := &stallClock{last: t0}
		for _, ms := range tc.ticks {
			s.tick(at(ms))
		}
		if got := s.stalledSince(at(tc.since), at(tc.now)); got != tc.want {
			t.Errorf("ticks %v, since %d, now %d: stalled %v, want %v", tc.ticks, tc.since, tc.now, got, tc.want)
		}
	}
}
