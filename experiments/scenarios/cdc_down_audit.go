package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/internal/clock"
)

// auditedPayment is one acknowledged payment as the database has it.
type auditedPayment struct {
	written  float64 // unix seconds
	critical bool
	audited  float64 // its first audit row; 0 = none
	rows     int64
}

// auditSettle is how long the audit trail must stay unchanged before the
// reconciliation counts what is missing.
const auditSettle = 3 * time.Second

// auditPayments is the reconciliation the seed runs the next morning: it
// waits until every acknowledged payment has an audit row or the trail
// has stopped growing, then reads from the database when each payment was
// written, when it was first audited and how many audit rows it has.
func auditPayments(ctx context.Context, e *Env, r *Run) error {
	ids, err := ackedIDs(e, paymentOp, "payment")
	if err != nil {
		return err
	}
	conn, err := operator.Postgres(ctx, e.Topology, "main")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var pays map[int64]auditedPayment
	deadline := time.Now().Add(drainLimit)
	last, still := -1, time.Now()
	for {
		if pays, err = readAudited(ctx, conn, ids); err != nil {
			return err
		}
		n := len(ids) - missingAudits(pays, ids)
		if n != last {
			last, still = n, time.Now()
		}
		if n == len(ids) || time.Since(still) >= auditSettle || time.Now().After(deadline) {
			break
		}
		if !clock.Sleep(ctx, 250*time.Millisecond) {
			return ctx.Err()
		}
	}
	start := float64(r.Start.UnixNano()) / 1e9
	var base, fault, critFault []float64
	var dup int64
	for _, id := range ids {
		p, ok := pays[id]
		if !ok {
			return fmt.Errorf("payment %d was acknowledged but is not stored", id)
		}
		dup += max(p.rows-1, 0)
		if p.rows == 0 {
			continue
		}
		d := p.audited - p.written
		switch at := time.Duration((p.written - start) * 1e9); {
		case at < r.FaultAt:
			base = append(base, d)
		case at < r.RecoverAt:
			fault = append(fault, d)
			if p.critical {
				critFault = append(critFault, d)
			}
		}
	}
	r.SetFact("payments_acked", float64(len(ids)))
	r.SetFact("payments_missing", float64(missingAudits(pays, ids)))
	r.SetFact("payments_duplicated", float64(dup))
	if len(base) == 0 {
		return fmt.Errorf("no audited payment written before the fault: no yardstick")
	}
	r.SetFact("delay_p99_baseline", p99Of(base))
	// none audited (a gap): no delay to report, and the checks on it
	// say so
	if len(fault) > 0 {
		r.SetFact("delay_p99_fault", p99Of(fault))
	}
	if len(critFault) > 0 {
		r.SetFact("critical_delay_p99_fault", p99Of(critFault))
	}
	nums, _, err := e.Worker(compose.SvcPayments).Stats(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", compose.SvcPayments, err)
	}
	r.SetFact("fallbacks", nums["payments.fallbacks"])
	// the latest page, if it came after the fault began
	if after := nums["alert.raised_at_unix"] - start - r.FaultAt.Seconds(); nums["alert.raised_at_unix"] > 0 && after >= 0 {
		r.SetFact("paged_after_fault", after)
	}
	return nil
}

func missingAudits(pays map[int64]auditedPayment, ids []int64) int {
	n := 0
	for _, id := range ids {
		if pays[id].rows == 0 {
			n++
		}
	}
	return n
}

// readAudited reads the given payments, their first audit row and how
// many they have.
func readAudited(ctx context.Context, conn *pgx.Conn, ids []int64) (map[int64]auditedPayment, error) {
	rows, err := conn.Query(ctx, `SELECT p.id, extract(epoch FROM p.created_at)::float8, p.critical,
			coalesce(extract(epoch FROM min(a.audited_at))::float8, 0), count(a.payment_id)
		FROM payments p LEFT JOIN audit_log a ON a.payment_id = p.id
		WHERE p.id = ANY($1) GROUP BY p.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading the audit trail: %w", err)
	}
	out := map[int64]auditedPayment{}
	for rows.Next() {
		var id int64
		var p auditedPayment
		if err := rows.Scan(&id, &p.written, &p.critical, &p.audited, &p.rows); err != nil {
			rows.Close()
			return nil, err
		}
		out[id] = p
	}
	return out, rows.Err()
}
