package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/internal/clock"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 14: the CDC connector that carries payments from Postgres'
// write-ahead log to the broker dies. The application keeps writing and
// sees nothing wrong; the audit trail downstream stops growing. Without a
// durable slot the connector that comes back starts from now, and the
// gap is found only by the reconciliation at the end.
const (
	paymentRate    = 20 // payments/s at normal load; peak is 10x
	paymentTimeout = 5 * time.Second
	paymentOp      = "payment"
	// criticalEvery makes every 5th payment critical (a capture: the
	// state transition the seed would have the application publish
	// itself when CDC is late).
	criticalEvery = 5
	// killUnconfirmedWithin bounds the wait for the streaming connector
	// to hold events the broker has but Postgres was not told of.
	killUnconfirmedWithin = 10 * time.Second
)

var cdcServices = []string{compose.SvcPayments, compose.SvcCDC, compose.SvcCDCB}

// cdcProtections: the protected run's; cdc_lag_alert and fallback_publish
// answer a wedged connector (cdc-down-wedged) and are off in both runs of
// a killed one, whose standby takes over before either could act.
var cdcProtections = []string{"durable_slot", "standby_connector", "idempotent_audit", "cdc_lag_alert", "fallback_publish"}

var cdcDown = Experiment{
	Name:     "cdc-down",
	Title:    "CDC connector goes down",
	Scenario: 14,
	Shows: "Payments (one in five critical) are written to Postgres; a CDC connector reads them from a logical " +
		"replication slot (pgoutput) and publishes them to the broker, and an audit service writes the audit " +
		"trail from there. The fault SIGKILLs the streaming connector; at its end it is restarted. " +
		"Unprotected: a temporary slot, and the position Postgres is told is flushed is what was received: " +
		"the restarted connector starts from now, the application saw no error, and the payments written " +
		"meanwhile are missing from the audit trail, found only by the reconciliation at the end. Protected: a " +
		"permanent slot told flushed only what the broker acknowledged, a standby connector that takes it " +
		"over, and an audit that writes each payment once (the takeover replays what Postgres was not told of).",
	Services: append([]string{compose.SvcBroker}, cdcServices...),
	Workers:  cdcServices,
	Load: Load{
		Rate:        paymentRate,
		MaxInFlight: 1000,
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: postPayments(e), Weight: 1}}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: paymentTimeout} },
	},
	Mitigation: cdcProtections,
	Off:        []string{"cdc_lag_alert", "fallback_publish"},
	Phases:     Phases{Baseline: 40 * time.Second, Fault: 40 * time.Second, Recovery: 40 * time.Second},
	Prepare:    settleCDC,
	Fault:      killConnector,
	Audit:      auditPayments,
	Watch: []string{"cdc.connector.produced", "cdc-b.connector.produced",
		"payments.groups.audit.records", "payments.payments.fallbacks"},
	Gauges: []string{"payments.payments.lag_seconds", "cdc.connector.streaming", "cdc-b.connector.streaming"},
	Cascade: []Check{
		paymentsSilent,
		AtLeast("acknowledged payments missing from the audit trail at the reconciliation", Fact("payments_missing"), 1, Count),
	},
	Holds: []Check{
		noPaymentMissing, noPaymentTwice, calmCDCDelay,
		AtMost("CDC delay, p99 of payments written during the fault", Fact("delay_p99_fault"), 1, Seconds),
	},
}

// The checks both cdc-down experiments make: the application sees no
// error (the seed's silence), and the protected trail is whole, single
// and, before the fault, under the seed's "< 1 second normally".
var (
	paymentsSilent   = AtMost("payment errors during the fault (the application sees nothing wrong)", ErrorRate(Faulted, paymentOp), 0.01, Percent)
	noPaymentMissing = AtMost("acknowledged payments missing from the audit trail", Fact("payments_missing"), 0, Count)
	noPaymentTwice   = AtMost("payments written to the audit trail more than once", Fact("payments_duplicated"), 0, Count)
	calmCDCDelay     = AtMost("CDC delay (payment written to audit row), p99 before the fault", Fact("delay_p99_baseline"), 1, Seconds)
)

func paymentsURL(e *Env) string { return "http://" + e.Stack.ClientAddr(compose.SvcPayments, "main") }

// postPayments is POST /payments/{id}; every criticalEvery-th is critical.
func postPayments(e *Env) loadgen.Op {
	base, ids := paymentsURL(e), runBase(e)
	return &loadgen.HTTPOp{
		OpName: paymentOp,
		Method: http.MethodPost,
		Client: e.HTTP,
		URL: func(seq uint64) (string, string) {
			id := strconv.FormatInt(ids+int64(seq), 10)
			return base + "/payments/" + id + "?critical=" + strconv.FormatBool(seq%criticalEvery == 0), id
		},
	}
}

// settleCDC waits until one connector streams, the audit and confirm
// groups own every partition and the CDC lag the application sees is
// under a second.
func settleCDC(ctx context.Context, e *Env) error {
	err := retryFor(ctx, 60*time.Second, func() error {
		if _, err := streamingConnector(ctx, e); err != nil {
			return err
		}
		nums, _, err := e.Worker(compose.SvcPayments).Stats(ctx)
		if err != nil {
			return err
		}
		for _, g := range []string{"audit", "confirm"} {
			if n := nums["groups."+g+".members"] - nums["groups."+g+".idle"]; n != compose.PaymentsPartitions {
				return fmt.Errorf("group %s: %.0f members own a partition, want %d", g, n, compose.PaymentsPartitions)
			}
		}
		if lag := nums["payments.lag_seconds"]; lag > 1 {
			return fmt.Errorf("CDC lag %.1fs", lag)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("CDC not settled: %w", err)
	}
	return nil
}

// streamingConnector is the connector that holds the slot now.
func streamingConnector(ctx context.Context, e *Env) (string, error) {
	for _, svc := range []string{compose.SvcCDC, compose.SvcCDCB} {
		nums, _, err := e.Worker(svc).Stats(ctx)
		if err != nil {
			return "", fmt.Errorf("%s: %w", svc, err)
		}
		if nums["connector.streaming"] == 1 {
			return svc, nil
		}
	}
	return "", fmt.Errorf("no connector streams")
}

// killConnector SIGKILLs the streaming connector once it holds payment
// events the broker has and Postgres was not told of (what a takeover
// publishes again); its recovery restarts it, as its orchestrator would.
func killConnector(e *Env) chaos.Fault {
	var killed string
	return chaos.Func("SIGKILL the streaming CDC connector",
		func(ctx context.Context) error {
			svc, err := streamingConnector(ctx, e)
			if err != nil {
				return err
			}
			if err := awaitUnconfirmed(ctx, e, svc); err != nil {
				return err
			}
			if err := e.Stack.Controller().Kill(ctx, svc); err != nil {
				return fmt.Errorf("killing %s: %w", svc, err)
			}
			killed = svc
			return nil
		},
		func(ctx context.Context) error {
			if killed == "" {
				return nil
			}
			return relaunchWorker(ctx, e, killed, cdcProtections)
		})
}

// awaitUnconfirmed waits until svc holds acknowledged, unreported payment
// events (durable_slot only: without it nothing is unreported).
func awaitUnconfirmed(ctx context.Context, e *Env, svc string) error {
	if !e.On("durable_slot") {
		return nil
	}
	deadline := time.Now().Add(killUnconfirmedWithin)
	for {
		nums, _, err := e.Worker(svc).Stats(ctx)
		if err == nil && nums["connector.unconfirmed"] > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			e.Run.Notes = append(e.Run.Notes, fmt.Sprintf("%s held no unconfirmed payment events within %v; killed anyway", svc, killUnconfirmedWithin))
			return nil
		}
		if !clock.Sleep(ctx, 20*time.Millisecond) {
			return ctx.Err()
		}
	}
}
