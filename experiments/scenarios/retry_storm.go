package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 21: load shedding at capacity triggers a retry storm.
//
// The checkout: client -> GET /bff/quote/{id} (the BFF) -> GET /quote/{id}
// (the pricing service: one 20 ms DB query on the primary, behind load
// shedding). DB capacity is pool / query cost = 4 / 20 ms = 200 quotes/s.
const (
	stormRate          = 15  // req/s at normal load; peak is 10x, under capacity
	stormSpikeRate     = 300 // the spike: 1.5x the 200/s DB capacity, at both levels
	stormClientTimeout = time.Second
	stormRetryAfter    = time.Second
	// stormSettle is how long after the spike the protected system may
	// take: Retry-After plus a few seconds, as the issue states.
	stormSettle = stormRetryAfter + 3*time.Second
)

var retryStorm = Experiment{
	Name:     "retry-storm",
	Title:    "Load shedding triggers a retry storm",
	Scenario: 21,
	Shows: "Offered load steps to 1.5x the DB capacity for the fault phase. The pricing service sheds load at " +
		"capacity. Unprotected: it sheds late (a 2 s queue, longer than the 1 s client timeout), 503s carry no " +
		"Retry-After, clients retry at once (3 tries, no jitter, no budget) and the BFF retries every 503 three " +
		"times on calls that outlive the client: arrivals at the service reach several times the offered load, " +
		"the work done is for clients that already gave up, and at 10x load the storm outlives the spike. " +
		"Protected: the service sheds early (250 ms queue) with Retry-After on every 503, clients honour it " +
		"with jitter and a 10% retry budget, the BFF makes one call bound to its caller and passes the 503 up: " +
		"amplification stays near 1x, the DB stays busy with useful work, and the system is back to normal " +
		"within Retry-After + a few seconds of the spike ending.",
	Load: Load{
		Rate:        stormRate,
		MaxInFlight: 3000, // spike rate x attempts x client timeout, with room
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: quoteReads(e), Weight: 1}}
		},
		Policy: stormClientPolicy,
	},
	Mitigation:        []string{"shed_early", "retry_after", "internal_no_retry", "client_backoff"},
	RunnerProtections: []string{"client_backoff"},
	Settings: map[string]string{
		"query_cost": "20ms", "retry_after": fmt.Sprint(stormRetryAfter),
		"shed_wait": "250ms", "shed_wait_late": "2s",
	},
	Phases: Phases{Baseline: 20 * time.Second, Fault: 20 * time.Second, Recovery: 40 * time.Second},
	Fault:  func(e *Env) chaos.Fault { return loadSpike(e, stormSpikeRate, nil) },
	Audit:  auditAmplification,
	Watch:  []string{"bff.requests", "bff.upstream_calls", "quote.requests", "quote.shed", "quote.served", "bff.wasted"},
	Gauges: []string{"quote.in_flight", "pool.primary.waiting"},
	Cascade: []Check{
		AtLeast("arrivals at the service / offered, during the spike", arrivalsPerOffered(Faulted, "quote.requests"), 2, Ratio),
		AtMost("client goodput during the spike / DB capacity", RatioOf(goodputRate(Faulted), dbCapacity), 0.5, Ratio),
		AtPeak(AtLeast("arrivals at the service / offered, after the spike", afterSpike(arrivalsPerOffered(Recovery, "quote.requests")), 2, Ratio)),
		AtPeak(AtLeast("client error rate after the spike", afterSpike(ErrorRate(Recovery)), 0.5, Percent)),
	},
	Holds: []Check{
		AtMost("arrivals at the service / offered, during the spike", arrivalsPerOffered(Faulted, "quote.requests"), 1.5, Ratio),
		AtLeast("client goodput during the spike / DB capacity", RatioOf(goodputRate(Faulted), dbCapacity), 0.8, Ratio),
		AtMost("recovered (errors <= 1%) after the spike within", RecoveredWithin(0.01), stormSettle.Seconds(), Seconds),
	},
}

// quoteReads is GET /bff/quote/{id}: the checkout's pricing call via the BFF.
func quoteReads(e *Env) loadgen.Op {
	return &loadgen.HTTPOp{
		OpName: "quote",
		Method: http.MethodGet,
		Client: e.HTTP,
		URL: func(seq uint64) (string, string) {
			return fmt.Sprintf("%s/bff/quote/%d", e.APIURL, seq%itemCount+1), ""
		},
	}
}

// stormClientPolicy: the seed's naive client (3 immediate tries, Retry-After
// ignored) or the disciplined one (backoff with jitter, Retry-After honoured
// and spread, at most 10% retries).
func stormClientPolicy(e *Env) loadgen.Policy {
	if !e.On("client_backoff") {
		return loadgen.Policy{Timeout: stormClientTimeout, Retry: loadgen.RetryImmediate, MaxAttempts: 3}
	}
	return loadgen.Policy{
		Timeout: stormClientTimeout, Retry: loadgen.RetryBackoff, MaxAttempts: 3,
		BaseBackoff: 200 * time.Millisecond, MaxBackoff: 2 * time.Second, Jitter: true,
		HonourRetryAfter: true, RetryBudget: 0.1,
	}
}

// arrivalsPerOffered is the arrival rate of an API counter per original
// request the client offered in the phase: the load a layer sees, as a
// multiple of the load users made.
func arrivalsPerOffered(p Phase, key string) Measure {
	return RatioOf(Rate(p, key), offeredRate(p))
}

func offeredRate(p Phase) Measure {
	return func(r *Run) (float64, error) {
		s, err := r.Client(p)
		return s.Rate, err
	}
}

// goodputRate is requests answered OK per second, as the client saw them.
func goodputRate(p Phase) Measure {
	return func(r *Run) (float64, error) {
		s, err := r.Client(p)
		return s.Achieved, err
	}
}

// afterSpike evaluates a recovery-phase measure over the recovery window
// minus its first stormSettle: where a system that heals is back already
// and a storm that feeds itself is not.
func afterSpike(m Measurer) Explained {
	return func(r *Run) (float64, string, error) {
		late := *r
		late.RecoveredAt = r.RecoveredAt + stormSettle
		return m.Read(&late)
	}
}

// auditAmplification records the amplification of each layer, during the
// spike and after it, so the report shows where retries multiplied load:
// client (BFF requests per offered), BFF (calls to /quote per BFF request)
// and the total at the service.
func auditAmplification(_ context.Context, e *Env, r *Run) error {
	windows := []struct {
		name string
		p    Phase
		wrap func(Measurer) Measurer
	}{
		{"spike", Faulted, func(m Measurer) Measurer { return m }},
		{"after_spike", Recovery, func(m Measurer) Measurer { return afterSpike(m) }},
	}
	for _, w := range windows {
		layers := map[string]Measure{
			"client": arrivalsPerOffered(w.p, "bff.requests"),
			"bff":    RatioOf(Rate(w.p, "bff.upstream_calls"), Rate(w.p, "bff.requests")),
			"total":  arrivalsPerOffered(w.p, "quote.requests"),
		}
		for layer, m := range layers {
			if v, _, err := w.wrap(m).Read(r); err == nil {
				e.Run.SetFact(fmt.Sprintf("amplification_%s_%s", layer, w.name), v)
			}
		}
	}
	return nil
}
