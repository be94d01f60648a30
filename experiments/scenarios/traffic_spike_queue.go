package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/internal/clock"
)

// Scenario 4 with the seed's "queue as buffer" for the write path: in the
// protected run every checkout is enqueued to the broker (202 once the
// broker has it) and the API's checkout workers apply them at the
// database's pace. The unprotected run and the spike are traffic-spike's.

// spikeCapacity is what the sale's hot items allow: one checkout per item
// per checkout_hold (20 ms).
const spikeCapacity = spikeHotItems * 50.0

// The audit waits for the backlog as long as the workers make progress: a
// checkout not applied after queueStallAfter without a single one applied
// is lost, not late. The 40 s full-scale spike at 3x load leaves ~16,000
// checkouts, over 3 minutes of work at capacity; queueDrainCap only stops
// a run that would never end.
const (
	queueStallAfter = 15 * time.Second
	queueDrainCap   = 15 * time.Minute
)

var spikeOps = []string{"checkout-high", "checkout-low", "scraper"}

var trafficSpikeQueue = Experiment{
	Name:     "traffic-spike-queue",
	Title:    "Sudden 10x traffic spike, checkouts queued through the broker",
	Scenario: 4,
	Shows: fmt.Sprintf("traffic-spike's flash sale and 10x step, protected by a queue in front of the write: each checkout is "+
		"produced to the broker and answered 202 once the broker acknowledged it; %d workers apply them in "+
		"order at the row lock's pace (100/s), once per Idempotency-Key. Unprotected is traffic-spike's: a "+
		"Postgres connection per checkout, and users fail with the storm. Protected: acceptance stays fast for "+
		"everyone, the database works at its capacity, and after the spike the backlog drains with nothing "+
		"acknowledged lost.", compose.CheckoutWorkers),
	Services:   []string{compose.SvcBroker},
	Load:       trafficSpike.Load,
	Mitigation: []string{"rate_limit", "queue_writes"},
	// Queued checkouts skip the priority gate, and the six workers hold six
	// connections of their own: neither the gate nor a pooler is at work.
	Off:      []string{"db_pooler", "priority_shed"},
	Settings: trafficSpike.Settings,
	Phases:   trafficSpike.Phases,
	Fault:    trafficSpike.Fault,
	Audit:    auditQueuedCheckouts,
	Watch:    []string{"checkout.queued", "checkout.applied", "checkout.limited", "checkout.connect_failed"},
	Gauges:   []string{"checkout.backlog", "pool.unpooled.open"},
	Cascade:  trafficSpike.Cascade,
	Holds: []Check{
		AtLeast("high-priority goodput / its offered load during the spike", opGoodput(Faulted, "checkout-high"), 0.95, Percent),
		AtMost("high-priority p99 during the spike", P99(Faulted, "checkout-high"), 0.25, Seconds),
		AtMost("checkout connections that could not be opened (refused or timed out)", counterIncrease("checkout.connect_failed"), 0, Count),
		// The workers keep the database at its capacity through the spike.
		// 100/s is the two rows' bound at 20 ms each; a row is really held
		// 20 ms plus the round trips of the sleep and the commit, so ~85-90/s
		// is what they allow here, and six workers reach 75-80/s.
		AtLeast("checkouts applied per second during the spike / the items' capacity",
			RatioOf(Rate(Faulted, "checkout.applied"), fixedValue(spikeCapacity)), 0.7, Ratio),
		AtMost("acknowledged checkouts never applied", Fact("checkouts.lost"), 0, Count),
		AtMost("the scraper's share of the low-priority checkouts accepted during the spike", scraperShare(Faulted), 0.30, Percent),
	},
}

func fixedValue(v float64) Measure { return func(*Run) (float64, error) { return v, nil } }

// auditQueuedCheckouts waits until every checkout the broker acknowledged
// (202) is in checkout_log, and records how many were lost and how long
// the backlog took to drain after the load stopped. Synchronous checkouts
// (200) were applied when they were answered.
func auditQueuedCheckouts(ctx context.Context, e *Env, _ *Run) error {
	var keys []string
	for _, op := range spikeOps {
		for _, res := range e.Ledger.Acked(op) {
			if res.Code == http.StatusAccepted {
				keys = append(keys, res.Key)
			}
		}
	}
	e.Run.SetFact("checkouts.acknowledged_queued", float64(len(keys)))
	if len(keys) == 0 {
		if e.On("queue_writes") {
			return fmt.Errorf("queue_writes is on but no checkout was answered 202")
		}
		return nil
	}
	conn, err := operator.Postgres(ctx, e.Topology, "main")
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	began := time.Now()
	found, progressAt := -1, began
	for {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM checkout_log WHERE key = ANY($1)`, keys).Scan(&n); err != nil {
			return err
		}
		if n > found {
			found, progressAt = n, time.Now()
		}
		if found == len(keys) || time.Since(progressAt) > queueStallAfter || time.Since(began) > queueDrainCap {
			break
		}
		if !clock.Sleep(ctx, 500*time.Millisecond) {
			return ctx.Err()
		}
	}
	e.Run.SetFact("checkouts.lost", float64(len(keys)-found))
	if found == len(keys) {
		e.Run.SetFact("checkouts.drain_seconds_after_load", time.Since(began).Seconds())
	}
	return nil
}
