package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// startBroker runs an in-process Kafka-protocol broker (the library our
// broker service wraps) for one test.
func startBroker(t *testing.T) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// TestQueuedCheckoutsAppliedOnce: with queue_writes a checkout is answered
// 202 once the broker has it, the workers apply each key exactly once (a
// client retry with the same key changes nothing), and a checkout without a
// key is refused before it is queued.
func TestQueuedCheckoutsAppliedOnce(t *testing.T) {
	e := needEnv(t)
	broker := startBroker(t)
	a := e.startAPI(t, "--protections", "queue_writes", "--broker", broker, "--checkout-workers", "2", "--checkout-hold", "1ms")
	run := fmt.Sprintf("q-%d", time.Now().UnixNano())
	stockBefore := e.count(t, `SELECT sum(left_count) FROM stock WHERE item <= 3`)
	if r := checkoutReq(t, a, 1); r.code != http.StatusBadRequest {
		t.Fatalf("queued checkout without Idempotency-Key: %d %s, want 400", r.code, r.body)
	}
	const n = 30
	for i := range n {
		r := checkoutReq(t, a, i%3+1, "Idempotency-Key", fmt.Sprintf("%s-%d", run, i))
		if r.code != http.StatusAccepted {
			t.Fatalf("checkout %d: %d %s, want 202", i, r.code, r.body)
		}
	}
	// a client's retry of an acknowledged checkout
	if r := checkoutReq(t, a, 1, "Idempotency-Key", run+"-0"); r.code != http.StatusAccepted {
		t.Fatalf("retried checkout: %d %s", r.code, r.body)
	}
	err := waitFor(30*time.Second, func() error {
		s := a.stats(t).Checkout
		if s.Applied+s.Redelivered != n+1 {
			return fmt.Errorf("applied %d, skipped %d of %d", s.Applied, s.Redelivered, n+1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s := a.stats(t).Checkout
	if s.Queued != n+1 || s.Applied != n || s.Redelivered != 1 || s.Backlog != 1 || s.Poison != 0 {
		t.Errorf("queued %d applied %d skipped %d backlog %d poison %d; want %d, %d, 1, 1 (the retry), 0",
			s.Queued, s.Applied, s.Redelivered, s.Backlog, s.Poison, n+1, n)
	}
	rows := e.count(t, `SELECT count(*) FROM checkout_log WHERE key LIKE $1`, run+"-%")
	if rows != n {
		t.Errorf("checkout_log holds %d rows of this run, want %d", rows, n)
	}
	if taken := stockBefore - e.count(t, `SELECT sum(left_count) FROM stock WHERE item <= 3`); taken != n {
		t.Errorf("stock of items 1-3 went down by %d, want %d (one per key)", taken, n)
	}
}

func TestQueuedCheckoutWithoutBroker(t *testing.T) {
	e := needEnv(t)
	a := e.startAPI(t, "--protections", "queue_writes,retry_after")
	r := checkoutReq(t, a, 1, "Idempotency-Key", "k-1")
	if r.code != http.StatusServiceUnavailable {
		t.Fatalf("queued checkout without a broker: %d %s, want 503", r.code, r.body)
	}
}
