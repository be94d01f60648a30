package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/internal/clock"
)

// checkoutsSettle bounds the wait for checkouts still running when the
// load stops (a stopped holder's finish after it resumes).
const checkoutsSettle = time.Minute

// auditBookings reads the ledger once no checkout of the two bookers
// runs: seats confirmed to more than one customer (and whether a stopped
// holder was among them), customers charged without a seat and not
// refunded, or without a lock, and refunds by whether the refused
// checkout had stood still.
func auditBookings(two []string) func(ctx context.Context, e *Env, r *Run) error {
	return func(ctx context.Context, e *Env, r *Run) error {
		if err := awaitCheckouts(ctx, e, two); err != nil {
			return err
		}
		conn, err := operator.Postgres(ctx, e.Topology, "main")
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return readLedger(ctx, conn, e, r)
	}
}

func readLedger(ctx context.Context, conn *pgx.Conn, e *Env, r *Run) error {
	base := runBase(e)
	facts := []struct {
		name, query string
	}{
		{"bookings", `SELECT count(*) FROM bookings WHERE seat >= $1`},
		{"double_booked", `SELECT count(*) FROM (SELECT seat FROM bookings WHERE seat >= $1 GROUP BY seat HAVING count(*) > 1) d`},
		{"double_booked_paused", `SELECT count(*) FROM (SELECT seat FROM bookings WHERE seat >= $1 GROUP BY seat
			HAVING count(*) > 1 AND bool_or(paused)) d`},
		{"charged", `SELECT count(*) FROM charges WHERE seat >= $1`},
		{"charged_unrefunded", `SELECT count(*) FROM charges c WHERE c.seat >= $1 AND c.refunded_at IS NULL
			AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.user_id = c.user_id)`},
		{"refunded_live", `SELECT count(*) FROM charges WHERE seat >= $1 AND refunded_at IS NOT NULL AND NOT paused`},
		{"refunded_paused", `SELECT count(*) FROM charges WHERE seat >= $1 AND refunded_at IS NOT NULL AND paused`},
		{"charged_unlocked", `SELECT count(*) FROM charges WHERE seat >= $1 AND NOT locked`},
	}
	for _, f := range facts {
		var n int64
		if err := conn.QueryRow(ctx, f.query, base).Scan(&n); err != nil {
			return fmt.Errorf("ledger, %s: %w", f.name, err)
		}
		r.SetFact(f.name, float64(n))
	}
	return nil
}

// awaitCheckouts waits until none of the bookers runs a checkout.
func awaitCheckouts(ctx context.Context, e *Env, svcs []string) error {
	deadline := time.Now().Add(checkoutsSettle)
	for {
		busy := ""
		for _, svc := range svcs {
			nums, _, err := e.Worker(svc).Stats(ctx)
			switch {
			case err != nil:
				busy = fmt.Sprintf("%s: %v", svc, err)
			case nums["booking.in_flight"] > 0:
				busy = fmt.Sprintf("%s runs %.0f checkouts", svc, nums["booking.in_flight"])
			}
		}
		if busy == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("checkouts still running %v after the load stopped: %s", checkoutsSettle, busy)
		}
		if !clock.Sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}
