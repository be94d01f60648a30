package scenarios

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/internal/clock"
)

// The second case of scenario 14: the connector is wedged, not dead. Its
// link to the broker is blackholed; it still reads the slot and its health
// check stays green, so only the lag shows it.
var cdcDownWedged = Experiment{
	Name:     "cdc-down-wedged",
	Title:    "CDC connector wedged: healthy, publishing nothing",
	Scenario: 14,
	Shows: "The payments system of cdc-down; the fault blackholes the streaming connector's link to the broker " +
		"while its health check stays green, and ends by lifting it. Unprotected: nothing notices; the audit " +
		"trail stops growing for the whole fault and the application sees no error. Protected: a heartbeat " +
		"row written every 250 ms gives the CDC lag, and an alert on it (the seed's 10 s, scaled) pages the " +
		"on-call, who restarts the wedged connector; the standby takes the slot over and replays from the " +
		"position the broker acknowledged; meanwhile the application publishes critical payments itself when " +
		"CDC has not shown them within fallback_after, and the audit writes each payment once.",
	Services:       cdcDown.Services,
	Workers:        cdcServices,
	Load:           cdcDown.Load,
	Mitigation:     cdcProtections,
	ScaledSettings: []string{"cdc_alert_lag", "fallback_after", "scale_every"},
	Phases:         Phases{Baseline: 40 * time.Second, Fault: 60 * time.Second, Recovery: 40 * time.Second},
	Prepare:        settleCDC,
	Fault:          wedgeConnector,
	Audit:          auditWedged,
	Watch:          cdcDown.Watch,
	Gauges:         append([]string{"payments.alert.firing"}, cdcDown.Gauges...),
	Cascade: []Check{
		paymentsSilent,
		AtLeast("CDC delay p99 of payments written during the fault / before it", Fact("delay_p99_ratio"), 10, Ratio),
	},
	Holds: []Check{
		AtMost("time from the stall to the page / cdc_alert_lag", Fact("page_over_alert_lag"), 1.5, Ratio),
		AtMost("CDC delay p99 of payments written during the fault / cdc_alert_lag", Fact("delay_over_alert_lag"), 2, Ratio),
		AtMost("critical payments' delay to the audit trail, p99 during the fault / fallback_after", Fact("critical_delay_over_fallback"), 1.5, Ratio),
		noPaymentMissing, noPaymentTwice, calmCDCDelay,
	},
}

// brokerLinkOf is each connector's link to the broker.
var brokerLinkOf = map[string]string{compose.SvcCDC: compose.LinkCDCBroker, compose.SvcCDCB: compose.LinkCDCBBroker}

// wedgeConnector blackholes the streaming connector's broker link. While
// it lasts an on-call watches the page; paged, they restart the wedged
// connector (SIGKILL, then start it again), which frees the slot. A
// connector started while its link is still cut cannot reach the broker
// and comes up only once the fault ends: the recovery lifts the blackhole
// first, then waits for the on-call's restart to finish.
func wedgeConnector(e *Env) chaos.Fault {
	var (
		hole    *chaos.BlackholeFault
		stop    context.CancelFunc
		watched sync.WaitGroup
		onCall  error
	)
	return chaos.Func("blackhole the streaming CDC connector's broker link",
		func(ctx context.Context) error {
			svc, err := streamingConnector(ctx, e)
			if err != nil {
				return err
			}
			if hole, err = chaos.Blackhole(e.Toxi, brokerLinkOf[svc]); err != nil {
				return err
			}
			if err := hole.Inject(ctx); err != nil {
				return err
			}
			stalled := time.Now()
			wctx, cancel := context.WithCancel(context.Background())
			stop = cancel
			watched.Add(1)
			go func() {
				defer watched.Done()
				onCall = restartWhenPaged(wctx, e, svc, stalled)
			}()
			return nil
		},
		func(ctx context.Context) error {
			if hole == nil {
				return nil
			}
			stop()
			err := hole.Recover(ctx)
			watched.Wait()
			return errors.Join(onCall, err)
		})
}

// restartBound bounds the on-call's restart of a connector, which waits
// for the fault's end when the connector's link is still cut.
const restartBound = 3 * time.Minute

// restartWhenPaged is the on-call: once the application's alert fires
// while watch lasts, it restarts svc and notes when.
func restartWhenPaged(watch context.Context, e *Env, svc string, stalled time.Time) error {
	app := e.Worker(compose.SvcPayments)
	for {
		nums, _, err := app.Stats(watch)
		if err == nil && nums["alert.firing"] == 1 {
			break
		}
		if !clock.Sleep(watch, 100*time.Millisecond) {
			return nil // the fault ended unpaged
		}
	}
	e.Run.Notes = append(e.Run.Notes, fmt.Sprintf("paged %.1fs after the stall: %s restarted", time.Since(stalled).Seconds(), svc))
	ctx, cancel := context.WithTimeout(context.Background(), restartBound)
	defer cancel()
	if err := e.Stack.Controller().Kill(ctx, svc); err != nil {
		return fmt.Errorf("restarting %s: %w", svc, err)
	}
	// started while its link is cut, the connector cannot reach the broker
	// and exits after its startup timeout; its orchestrator starts it
	// again, until it comes up
	for starts := 1; ; starts++ {
		err := relaunchWorker(ctx, e, svc, cdcProtections)
		if err == nil || ctx.Err() != nil {
			if starts > 1 {
				e.Run.Notes = append(e.Run.Notes, fmt.Sprintf("%s came up on start %d", svc, starts))
			}
			return err
		}
		if !clock.Sleep(ctx, time.Second) {
			return fmt.Errorf("restarting %s: %w (last start: %v)", svc, ctx.Err(), err)
		}
	}
}

// auditWedged is auditPayments, with the delays also over the settings
// they are bounded by, read from the application.
func auditWedged(ctx context.Context, e *Env, r *Run) error {
	if err := auditPayments(ctx, e, r); err != nil {
		return err
	}
	set, err := e.Worker(compose.SvcPayments).CurrentSettings(ctx)
	if err != nil {
		return err
	}
	alertLag, err := time.ParseDuration(set["cdc_alert_lag"])
	if err != nil {
		return fmt.Errorf("cdc_alert_lag %q: %w", set["cdc_alert_lag"], err)
	}
	fallback, err := time.ParseDuration(set["fallback_after"])
	if err != nil {
		return fmt.Errorf("fallback_after %q: %w", set["fallback_after"], err)
	}
	base, _ := r.Fact("delay_p99_baseline")
	if fault, err := r.Fact("delay_p99_fault"); err == nil {
		r.SetFact("delay_p99_ratio", fault/max(base, 0.001))
		r.SetFact("delay_over_alert_lag", fault/alertLag.Seconds())
	}
	if crit, err := r.Fact("critical_delay_p99_fault"); err == nil {
		r.SetFact("critical_delay_over_fallback", crit/fallback.Seconds())
	}
	paged, err := r.Fact("paged_after_fault")
	if err != nil {
		// not paged during the run: at least the whole fault
		paged = (r.RecoverAt - r.FaultAt).Seconds()
		r.Notes = append(r.Notes, "no page during the run")
	}
	r.SetFact("page_over_alert_lag", paged/alertLag.Seconds())
	return nil
}
