package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/services/internal/protections"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

// The payments pipeline is the application and the downstream side of
// the seed's scenario 14: POST /payments/{id} writes a payment row (the
// application's only write: it publishes nothing itself, CDC does), a
// heartbeat row is rewritten every heartbeatEvery, and two groups read
// the CDC topic: audit, which writes the audit trail, and confirm, which
// sees what CDC delivered (heartbeats: the lag; critical payments: no
// fallback needed).
var paymentsPipeline = pipeline{
	topic:       paymentsTopic,
	protections: []string{protCDCAlert, protFallback, protIdemAudit},
	schema: `CREATE TABLE IF NOT EXISTS payments (
			id bigint PRIMARY KEY,
			critical boolean NOT NULL,
			created_at timestamptz NOT NULL DEFAULT clock_timestamp());
		CREATE TABLE IF NOT EXISTS audit_log (
			payment_id bigint NOT NULL,
			source text NOT NULL,
			audited_at timestamptz NOT NULL DEFAULT clock_timestamp());
		CREATE INDEX IF NOT EXISTS audit_log_payment ON audit_log (payment_id);
		CREATE TABLE IF NOT EXISTS cdc_heartbeat (
			id int PRIMARY KEY,
			beat bigint NOT NULL,
			at_unix_ns bigint NOT NULL);
		DO $$ BEGIN
			IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = '` + cdcPublication + `') THEN
				CREATE PUBLICATION ` + cdcPublication + ` FOR TABLE payments, cdc_heartbeat WITH (publish = 'insert, update');
			END IF;
		END $$`,
	reset: `TRUNCATE payments, audit_log`,
	groups: func(*protections.Set) []groupPlan {
		return []groupPlan{{name: "audit", steps: []step{auditStep}}, {name: "confirm", steps: []step{confirmStep}}}
	},
	routes: paymentRoutes,
	loop:   (*worker).paymentsLoop,
	alarm:  alarm{protection: protCDCAlert, cause: cdcLagAlarm},
}

// paymentsTopic is the CDC topic: the connector's events, and the
// application's fallback publishes.
const paymentsTopic = "payments.cdc"

// heartbeatEvery is how often the application rewrites its heartbeat row:
// the CDC lag is known to within this even when no payment is written.
const heartbeatEvery = 250 * time.Millisecond

// payments is the pipeline's state in the application.
type payments struct {
	mu       sync.Mutex
	pending  map[int64]time.Time // critical payments awaiting CDC, with fallback_publish on: when to publish them ourselves
	lastBeat time.Time           // when the newest heartbeat seen on the topic was written (or the reset)
	beats    int64               // heartbeat rows written
	beatErrs int64

	fallbacks    int64 // published by the application
	fallbackErrs int64
}

func newPayments() *payments {
	return &payments{pending: map[int64]time.Time{}, lastBeat: time.Now()}
}

func (p *payments) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pending = map[int64]time.Time{}
	p.lastBeat = time.Now()
}

// await notes a critical payment to publish at deadline unless CDC shows
// it first.
func (p *payments) await(id int64, deadline time.Time) {
	p.mu.Lock()
	p.pending[id] = deadline
	p.mu.Unlock()
}

func (p *payments) forget(id int64) {
	p.mu.Lock()
	delete(p.pending, id)
	p.mu.Unlock()
}

// due takes the pending payments whose deadline has passed.
func (p *payments) due(now time.Time) []int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int64
	for id, d := range p.pending {
		if !now.Before(d) {
			out = append(out, id)
			delete(p.pending, id)
		}
	}
	return out
}

// beatWritten counts one heartbeat write.
func (p *payments) beatWritten(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.beatErrs++
		return
	}
	p.beats++
}

// published counts one fallback publish.
func (p *payments) published(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.fallbackErrs++
		return
	}
	p.fallbacks++
}

func (p *payments) beatSeen(at time.Time) {
	p.mu.Lock()
	if at.After(p.lastBeat) {
		p.lastBeat = at
	}
	p.mu.Unlock()
}

// lag is how long ago the newest heartbeat seen downstream was written:
// the CDC lag, to within heartbeatEvery.
func (p *payments) lag(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return now.Sub(p.lastBeat)
}

type paymentStats struct {
	LagSeconds     float64 `json:"lag_seconds"`
	Pending        int     `json:"pending"`
	Heartbeats     int64   `json:"heartbeats"`
	HeartbeatErrs  int64   `json:"heartbeat_errors"`
	Fallbacks      int64   `json:"fallbacks"`
	FallbackErrors int64   `json:"fallback_errors"`
}

func (p *payments) stats() paymentStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return paymentStats{LagSeconds: time.Since(p.lastBeat).Seconds(), Pending: len(p.pending),
		Heartbeats: p.beats, HeartbeatErrs: p.beatErrs, Fallbacks: p.fallbacks, FallbackErrors: p.fallbackErrs}
}

// auditStep writes a payment event to the audit trail. With
// idempotent_audit on it writes nothing when the payment has an audit row
// already (one partition per payment id, so one member checks at a time).
func auditStep(ctx context.Context, env stepEnv, ev event) error {
	if ev.kind != kindPayment {
		return nil
	}
	q := `INSERT INTO audit_log (payment_id, source) VALUES ($1, $2)`
	if env.prot.On(protIdemAudit) {
		q = `INSERT INTO audit_log (payment_id, source) SELECT $1, $2
			WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE payment_id = $1)`
	}
	if _, err := env.db.Exec(ctx, q, ev.id, ev.source); err != nil {
		return fmt.Errorf("auditing payment %d: %w", ev.id, err)
	}
	return nil
}

// confirmStep follows what CDC delivered: heartbeats move the lag, a
// payment from CDC needs no fallback.
func confirmStep(_ context.Context, env stepEnv, ev event) error {
	switch {
	case ev.kind == kindHeartbeat:
		env.pay.beatSeen(ev.at)
	case ev.kind == kindPayment && ev.source == sourceCDC:
		env.pay.forget(ev.id)
	}
	return nil
}

// cdcLagAlarm is the seed's CDC lag alert.
func cdcLagAlarm(w *worker, _ context.Context) string {
	limit := w.settings.get(knob.CDCAlert)
	if lag := w.pay.lag(time.Now()); lag > limit {
		return fmt.Sprintf("CDC lag %.1fs: the newest heartbeat on %s was written that long ago (alert at %v)", lag.Seconds(), paymentsTopic, limit)
	}
	return ""
}
