package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatif-lab/whatif/services/internal/db"
)

// A session cut while idle (HAProxy shutting a backup server's sessions,
// here pg_terminate_backend) is found and replaced in the background: the
// next caller gets a live connection within a tight acquire bound.
func TestPoolReplacesCutIdleConnection(t *testing.T) {
	e := needEnv(t)
	ctx := context.Background()
	p, err := db.Open("reports", e.dsn(), 1, func() time.Duration { return time.Second })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pid := func() uint32 {
		var got uint32
		if err := p.Do(ctx, db.Limits{Acquire: 30 * time.Millisecond}, func(ctx context.Context, c *pgx.Conn) error {
			got = c.PgConn().PID()
			return nil
		}); err != nil {
			t.Fatalf("query on the pool: %v", err)
		}
		return got
	}
	first := pid()

	admin, err := pgx.Connect(ctx, e.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var cut bool
	if err := admin.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, first).Scan(&cut); err != nil || !cut {
		t.Fatalf("terminating backend %d: %v (%v)", first, cut, err)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		s := p.Stats()
		if s.KeepaliveClosed == 1 && s.Open == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cut connection not replaced within 10 s: %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if second := pid(); second == first {
		t.Fatalf("still on backend %d after it was terminated", first)
	}
	if s := p.Stats(); s.Errors != 0 || s.AcquireTimeouts != 0 {
		t.Fatalf("a caller paid for the cut connection: %+v", s)
	}
}
