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
// The checkout's quote crosses three layers, each a separate HTTP hop:
// client -> GET /bff/quote/{id} (the BFF) -> GET /pricing/quote/{id} (an
// internal service) -> GET /quote/{id} (the app server: one 20 ms DB query
// on the primary behind load shedding that fires early, in both runs). DB
// capacity is pool / query cost = 4 / 20 ms = 200 quotes/s.
const (
	stormRate          = 15  // req/s at normal load; peak is 10x, under capacity
	stormSpikeRate     = 300 // the spike: 1.5x the 200/s DB capacity, at both levels
	stormClientTimeout = time.Second
	// stormRetryAfter is the seed's "Retry-After: 10", rounded up so that a
	// quick run's quarter of it is still whole seconds, as the header needs.
	// The spike lasts as long: the quiet window the seed describes, in which
	// the retries of every request shed by the spike stay away from it.
	stormRetryAfter = 12 * time.Second
	// stormSettle is how long after the quiet window the protected system
	// may take to be back to normal.
	stormSettle = 3 * time.Second
	// stormLayerMax is the seed's bound on a protected layer's amplification.
	stormLayerMax = 1.5
)

// stormLayers are the three layers that retry in the seed (mobile 3x, BFF
// 2x, internal service 2x): each one's calls per request it got.
var stormLayers = []struct{ name, calls, requests string }{
	{"client", "bff.requests", ""}, // per request the users offered
	{"bff", "bff.upstream_calls", "bff.requests"},
	{"pricing", "pricing.upstream_calls", "pricing.requests"},
}

var retryStorm = Experiment{
	Name:     "retry-storm",
	Title:    "Load shedding triggers a retry storm",
	Scenario: 21,
	Shows: "Offered load steps to 1.5x the DB capacity for the fault phase. The app server sheds load early and " +
		"correctly in both runs. Unprotected: 503s carry no Retry-After, clients retry at once (3 tries, no " +
		"jitter) and the BFF and the internal pricing service each retry a 503 at once (2 tries each): every " +
		"layer multiplies the load, and arrivals at the app server reach several times the offered load. " +
		"Protected: every 503 carries Retry-After (12 s, the spike's length), clients honour it with jitter " +
		"(3 tries at most), and the internal layers make one call and pass the 503 up: each layer stays near 1x, " +
		"the retries land after the spike, the DB stays busy with useful work, and every request offered during the " +
		"spike is answered in the end.",
	Load: Load{
		Rate:        stormRate,
		MaxInFlight: 3000, // the spike's shed requests waiting out Retry-After, with room
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: quoteReads(e), Weight: 1}}
		},
		Policy: stormClientPolicy,
	},
	Mitigation:        []string{"retry_after", "internal_no_retry", "client_backoff"},
	RunnerProtections: []string{"client_backoff"},
	Settings: map[string]string{
		"query_cost": "20ms", "retry_after": fmt.Sprint(stormRetryAfter), "shed_wait": "250ms",
	},
	ScaledSettings: []string{"retry_after"},
	Phases:         Phases{Baseline: 20 * time.Second, Fault: stormRetryAfter, Recovery: 48 * time.Second},
	Fault:          func(e *Env) chaos.Fault { return loadSpike(e, stormSpikeRate, nil) },
	Audit:          auditAmplification,
	Watch:          []string{"bff.requests", "pricing.requests", "quote.requests", "quote.shed", "quote.served"},
	Gauges:         []string{"quote.in_flight", "pool.primary.waiting"},
	Cascade: append(layerChecks(AtLeast, 1.5),
		AtLeast("arrivals at the app server / offered, during the spike", arrivalsPerOffered(Faulted, "quote.requests"), 2, Ratio),
	),
	Holds: append(layerChecks(AtMost, stormLayerMax),
		AtMost("arrivals at the app server / offered, during the spike", arrivalsPerOffered(Faulted, "quote.requests"), stormLayerMax, Ratio),
		AtMost("client errors, requests offered during the spike", ErrorRate(Faulted), 0.01, Percent),
		AtLeast("quotes served during the spike / DB capacity", RatioOf(Rate(Faulted, "quote.served"), dbCapacity), 0.8, Ratio),
		AtMost("recovered (errors <= 1%) after the spike's quiet window within", Measure(recoveredAfterQuietWindow), stormSettle.Seconds(), Seconds),
	),
}

// layerChecks bounds every retrying layer's amplification during the spike.
func layerChecks(bound func(string, Measurer, float64, Unit) Check, v float64) []Check {
	var out []Check
	for _, l := range stormLayers {
		out = append(out, bound(fmt.Sprintf("%s layer: calls per request, during the spike", l.name), layerAmplification(Faulted, l.calls, l.requests), v, Ratio))
	}
	return out
}

// layerAmplification is a layer's calls per request it got; requests ""
// means the users' offered requests (the client layer).
func layerAmplification(p Phase, calls, requests string) Measure {
	if requests == "" {
		return arrivalsPerOffered(p, calls)
	}
	return RatioOf(Rate(p, calls), Rate(p, requests))
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
// ignored) or the disciplined one (3 tries at most, backoff with jitter,
// Retry-After honoured and spread over [RA, 1.5 RA]).
func stormClientPolicy(e *Env) loadgen.Policy {
	if !e.On("client_backoff") {
		return loadgen.Policy{Timeout: stormClientTimeout, Retry: loadgen.RetryImmediate, MaxAttempts: 3}
	}
	return loadgen.Policy{
		Timeout: stormClientTimeout, Retry: loadgen.RetryBackoff, MaxAttempts: 3,
		BaseBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second, Jitter: true,
		HonourRetryAfter: true,
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

// recoveredAfterQuietWindow is how long after the spike, less the
// configured Retry-After (the least the API asked shed clients to wait),
// errors took to stay at or below 1%.
func recoveredAfterQuietWindow(r *Run) (float64, error) {
	t, err := RecoveredWithin(0.01)(r)
	if err != nil {
		return 0, err
	}
	ra, err := settingSeconds(r, "retry_after")
	if err != nil {
		return 0, err
	}
	return max(t-ra, 0), nil
}

// auditAmplification records each layer's amplification and the total at
// the app server, during the spike and after it, so the report shows where
// retries multiplied load.
func auditAmplification(_ context.Context, e *Env, r *Run) error {
	for _, w := range []struct {
		name string
		p    Phase
	}{{"spike", Faulted}, {"after_spike", Recovery}} {
		for _, l := range stormLayers {
			if v, err := layerAmplification(w.p, l.calls, l.requests)(r); err == nil {
				e.Run.SetFact(fmt.Sprintf("amplification_%s_%s", l.name, w.name), v)
			}
		}
		if v, err := arrivalsPerOffered(w.p, "quote.requests")(r); err == nil {
			e.Run.SetFact("amplification_total_"+w.name, v)
		}
	}
	return nil
}
