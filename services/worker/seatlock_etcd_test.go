package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/services/worker/knob"
)

const etcdServer = "/usr/bin/etcd"

// startEtcd runs a one-member etcd (Debian's etcd-server) for one test.
func startEtcd(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(etcdServer); err != nil {
		t.Skipf("integration test needs %s (Debian etcd-server): %v", etcdServer, err)
	}
	client, peer := freeAddr(t), freeAddr(t)
	cmd := exec.Command(etcdServer, "--data-dir", t.TempDir(), "--listen-client-urls", "http://"+client,
		"--advertise-client-urls", "http://"+client, "--listen-peer-urls", "http://"+peer,
		"--initial-advertise-peer-urls", "http://"+peer, "--initial-cluster", "default=http://"+peer)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + client + "/health")
		if err == nil {
			ok := resp.StatusCode == http.StatusOK
			resp.Body.Close()
			if ok {
				return client
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd on %s not healthy: %v", client, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestEtcdLockHoldsAndFences: with the locks in a real etcd, a second
// checkout of a held seat waits and finds it taken, and the next
// holder's fence is larger than the first's.
func TestEtcdLockHoldsAndFences(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	member := startEtcd(t)
	a, b := newLockRig(t, "all", time.Second, func(cfg *flags) { cfg.etcd = []string{member} })
	done := make(chan struct{})
	var aCode int
	var aBody []byte
	go func() {
		defer close(done)
		aCode, aBody = a.callNoFatal(http.MethodPost, "/book/7?user=1&hold=300ms")
	}()
	time.Sleep(100 * time.Millisecond)
	bCode, bBody := b.call(t, http.MethodPost, "/book/7?user=2&hold=0s", "")
	<-done
	if aCode != http.StatusOK || bCode != http.StatusConflict || !strings.Contains(string(bBody), "taken") {
		t.Fatalf("a %d %s, b %d %s; want a booked, b 409 taken", aCode, aBody, bCode, bBody)
	}
	var fence int64
	a.scan(t, `SELECT fence FROM seats WHERE seat = 7`, &fence)
	if fence <= 0 {
		t.Errorf("seat fence %d: want b's lock revision, > 0", fence)
	}
}

// TestLockServiceDown: with no lock service answering, fail_closed
// answers 503 before any charge; without it the checkout goes on unlocked
// and its charge says so.
func TestLockServiceDown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	dead := []string{freeAddr(t)} // nothing listens there
	for _, tc := range []struct {
		protections string
		code        int
		charged     int64
	}{
		{"fail_closed", http.StatusServiceUnavailable, 0},
		{"none", http.StatusOK, 1},
	} {
		t.Run(tc.protections, func(t *testing.T) {
			a, _ := newLockRig(t, tc.protections, time.Second, func(cfg *flags) {
				cfg.etcd = dead
				cfg.knobs[knob.LockWait] = 500 * time.Millisecond
			})
			code, body := a.call(t, http.MethodPost, "/book/1?user=1&hold=0s", "")
			if code != tc.code {
				t.Fatalf("%d %s, want %d", code, body, tc.code)
			}
			var charged, unlocked int64
			a.scan(t, `SELECT count(*), count(*) FILTER (WHERE NOT locked) FROM charges`, &charged, &unlocked)
			if charged != tc.charged || unlocked != tc.charged {
				t.Errorf("charged %d (%d without a lock), want %d", charged, unlocked, tc.charged)
			}
		})
	}
}
