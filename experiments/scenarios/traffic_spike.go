package scenarios

import (
	"fmt"
	"net/http"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 4: a sudden 10x step in offered load on a flash sale. A
// checkout holds its item's stock row for 20 ms, so the sale's two items
// sell at most 2 / 20 ms = 100 checkouts/s: the database's real capacity.
const (
	spikeRate       = 20 // checkouts/s at normal load
	spikePeakFactor = 3  // peak here is a busy hour, 3x: see Load.PeakFactor
	spikeFactor     = 10 // the fault: offered load x10
	spikeTimeout    = 2 * time.Second
	spikeHotItems   = 2
)

var trafficSpike = Experiment{
	Name:     "traffic-spike",
	Title:    "Sudden 10x traffic spike",
	Scenario: 4,
	Shows: "Checkouts of a flash sale: each holds its item's stock row lock for 20 ms, so the two hot items sell at " +
		"most 100/s. 10% of checkouts are high priority; 20% come from one scraper client, and when the fault " +
		"steps the offered load up 10x the scraper sends half of it. Unprotected (every concurrent checkout opens " +
		"its own Postgres connection, no rate limit, no shedding): checkouts queue inside Postgres on the row lock, " +
		"connections climb past max_connections (100 here) — \"sorry, too many clients already\" — and " +
		"high-priority users fail with everyone. Protected: the scraper gets 429 past 15 req/s, so it cannot take " +
		"the sale's capacity from everyone else, and checkouts enter the database six at a time, high priority " +
		"first: a low-priority checkout that waited 250 ms is shed with 503 + Retry-After, so high-priority " +
		"checkouts keep their goodput and a bounded p99. The gate's six slots also bound the database's " +
		"connections, so PgBouncer is off in both runs here; traffic-spike-pooler shows the pooler alone.",
	Load: Load{
		Rate: spikeRate,
		// A 10x spike on top of a 10x peak would be 100x normal, far past
		// what this 2-core box can offer; peak here is 3x normal.
		PeakFactor:  spikePeakFactor,
		MaxInFlight: 3000,
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{
				{Op: checkouts(e, "checkout-high", "high", ""), Weight: 1},
				{Op: checkouts(e, "checkout-low", "low", ""), Weight: 7},
				{Op: checkouts(e, "scraper", "low", "scraper-1"), Weight: 2},
			}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: spikeTimeout} },
	},
	Mitigation: []string{"priority_shed", "rate_limit"},
	// The queued write path has its own experiment, traffic-spike-queue.
	// Switched off alone with the gate on, the pooler broke no check: the
	// gate holds the database to six connections; traffic-spike-pooler
	// shows it.
	Off:      []string{"queue_writes", "db_pooler"},
	Settings: map[string]string{"checkout_hold": "20ms"},
	// a 40 s spike: without a pooler, opening connections is itself slow
	// under the storm (~25-40 a second here), so max_connections is
	// reached seconds into it, not at once
	Phases: Phases{Baseline: 20 * time.Second, Fault: 40 * time.Second, Recovery: 20 * time.Second},
	Fault: func(e *Env) chaos.Fault {
		rate := float64(spikeRate)
		if e.Level == Peak {
			rate *= spikePeakFactor
		}
		return loadSpike(e, spikeFactor*rate, spikeMix)
	},
	Watch:  []string{"checkout.ok", "checkout.shed", "checkout.limited", "checkout.connect_failed", "checkout.too_many_clients"},
	Gauges: []string{"pool.unpooled.open", "pool.bouncer.open", "checkout.in_flight"},
	Cascade: []Check{
		// The seed's "new DB connections rejected". On this box Postgres forks
		// backends for new connections at only ~25-40/s under the storm, so
		// attempts often time out (1 s) before the slot limit refuses them:
		// either is the connection exhaustion.
		AtLeast("checkout connections that could not be opened (refused or timed out)", counterIncrease("checkout.connect_failed"), 1, Count),
		AnyOf("high-priority checkouts fail with everyone",
			AtLeast("high-priority error rate during the spike", ErrorRate(Faulted, "checkout-high"), 0.20, Percent),
			AtLeast("high-priority p99 during the spike", P99(Faulted, "checkout-high"), 0.9*spikeTimeout.Seconds(), Seconds),
		),
	},
	Holds: []Check{
		AtLeast("high-priority goodput / its offered load during the spike", opGoodput(Faulted, "checkout-high"), 0.95, Percent),
		AtMost("high-priority p99 during the spike", P99(Faulted, "checkout-high"), 1, Seconds),
		AtMost("checkout connections that could not be opened (refused or timed out)", counterIncrease("checkout.connect_failed"), 0, Count),
		// What the rate limit is for: one client must not take the capacity
		// the others share. The scraper offers half of the spike's checkouts.
		AtMost("the scraper's share of the low-priority checkouts sold during the spike", scraperShare(Faulted), 0.30, Percent),
	},
}

// spikeMix is the op mix while the sale's spike lasts: a scraper bot joins
// the rush and sends half the checkouts; high priority stays at 10%.
var spikeMix = map[string]int{"checkout-high": 1, "checkout-low": 4, "scraper": 5}

// checkouts is POST /checkout of the sale's hot items. client "" gives
// each request one of 500 user ids. Every logical request has its own
// Idempotency-Key (kept across retries): a queued checkout is applied once
// per key, and the audit finds it by that key.
func checkouts(e *Env, name, priority, client string) loadgen.Op {
	run := fmt.Sprintf("%s-%s-%d-%s", e.Variant, e.Level, time.Now().UnixNano(), name)
	return &loadgen.HTTPOp{
		OpName: name,
		Method: http.MethodPost,
		Client: e.HTTP,
		URL: func(seq uint64) (string, string) {
			return e.APIURL + "/checkout", fmt.Sprintf("%s-%d", run, seq)
		},
		Body: func(seq uint64, _ string) []byte {
			return []byte(fmt.Sprintf(`{"item_id":%d}`, seq%spikeHotItems+1))
		},
		Header: func(seq uint64, key string) http.Header {
			id := client
			if id == "" {
				id = fmt.Sprintf("user-%d", seq%500)
			}
			return http.Header{"Content-Type": {"application/json"}, "X-Priority": {priority}, "X-Client-ID": {id},
				"Idempotency-Key": {key}}
		},
	}
}

// opGoodput is one op's requests answered OK per request offered.
func opGoodput(p Phase, op string) Measure {
	return func(r *Run) (float64, error) {
		s, err := r.Client(p, op)
		if err != nil {
			return 0, err
		}
		if s.Offered == 0 {
			return 0, ErrNoData
		}
		return float64(s.OK) / float64(s.Offered), nil
	}
}

// scraperShare is the scraper's share of the low-priority checkouts that
// succeeded: what it took of the capacity it shares with the other users.
func scraperShare(p Phase) Measure {
	return func(r *Run) (float64, error) {
		bot, err := r.Client(p, "scraper")
		if err != nil {
			return 0, err
		}
		users, err := r.Client(p, "checkout-low")
		if err != nil {
			return 0, err
		}
		if bot.OK+users.OK == 0 {
			return 0, ErrNoData
		}
		return float64(bot.OK) / float64(bot.OK+users.OK), nil
	}
}
