package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A commit whose wait for the synchronous standby is cancelled (here by
// pg_cancel_backend, as an operator or a cancel request would) is committed
// on the primary only; Postgres says so with a WARNING and success. The api
// must not acknowledge it, nor a replay of its key, until the standby
// confirms. A standby name that no server has makes every commit wait.
// (statement_timeout cannot cancel that wait: Postgres disarms it before
// the commit.)
func TestUnconfirmedCommitIsNotAcknowledged(t *testing.T) {
	e := needEnv(t)
	// the test server runs with synchronous_commit=off on its command line;
	// a database setting overrides that for new sessions (the api's pool)
	e.exec(t, "ALTER DATABASE postgres SET synchronous_commit = on")
	t.Cleanup(func() { e.exec(t, "ALTER DATABASE postgres RESET synchronous_commit") })
	setStandby := func(names string) {
		t.Helper()
		ctx := context.Background()
		e.exec(t, fmt.Sprintf("ALTER SYSTEM SET synchronous_standby_names = '%s'", names))
		e.exec(t, "SELECT pg_reload_conf()")
		// the reload reaches backends asynchronously: await a fresh one
		if err := waitFor(5*time.Second, func() error {
			c2, err := pgx.Connect(ctx, e.dsn())
			if err != nil {
				return err
			}
			defer c2.Close(ctx)
			var got string
			if err := c2.QueryRow(ctx, "SHOW synchronous_standby_names").Scan(&got); err != nil {
				return err
			}
			if got != names {
				return fmt.Errorf("synchronous_standby_names %q, want %q", got, names)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	// after the api's start-up migration, which must commit; no db_timeouts,
	// so the request waits until its commit is cancelled
	a := e.startAPI(t, "--protections", "idempotency,retry_after")
	setStandby("no_such_standby")
	t.Cleanup(func() { setStandby("") })

	key := fmt.Sprintf("sync-%d", time.Now().UnixNano())
	post := func() reply {
		return do(t, "POST", a.base+"/orders", `{"item_id":4,"qty":1}`, "Idempotency-Key", key)
	}
	// cancelWaiter cancels the one backend waiting for the standby.
	cancelWaiter := func() error {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, e.dsn())
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		return waitFor(5*time.Second, func() error {
			var n int
			err := c.QueryRow(ctx, `SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity WHERE wait_event = 'SyncRep'`).Scan(&n)
			if err == nil && n != 1 {
				err = fmt.Errorf("%d backends wait for the standby, want 1", n)
			}
			return err
		})
	}
	for _, attempt := range []string{"first", "replay"} {
		done := make(chan error, 1)
		go func() { done <- cancelWaiter() }()
		r := post()
		if err := <-done; err != nil {
			t.Fatalf("%s attempt: %v", attempt, err)
		}
		if r.code != 503 || r.hdr.Get("Retry-After") == "" || !strings.Contains(string(r.body), "standby") {
			t.Fatalf("%s attempt without a standby's confirmation: %d Retry-After=%q %s; want 503 naming the standby",
				attempt, r.code, r.hdr.Get("Retry-After"), r.body)
		}
	}
	if n := e.countOrders(t, key); n != 1 {
		t.Fatalf("%d rows for %s after two unconfirmed attempts, want 1 (committed locally once)", n, key)
	}
	m := do(t, "GET", a.base+"/metrics", "")
	if want := `api_db_not_replicated_total{pool="primary"} 2`; !strings.Contains(string(m.body), want) {
		t.Errorf("/metrics lacks %s", want)
	}

	setStandby("")
	r := post()
	if got := r.json(t); r.code != 200 || got["replayed"] != true {
		t.Fatalf("replay once commits are confirmed: %d %s, want 200 replayed", r.code, r.body)
	}
	if n := e.countOrders(t, key); n != 1 {
		t.Fatalf("%d rows for %s, want 1", n, key)
	}
}
