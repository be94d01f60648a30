package scenarios

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 1: Redis crashes; all traffic falls through to the database.
const (
	redisCrashRate = 100 // req/s at normal load; peak is 10x
	// Before each run Redis holds the 20,000 hottest items (97% of reads
	// under the Zipf law) and L1 the 150 hottest (74%: the seed's "L1 covers
	// the Pareto set, ~80% of traffic"). An item read holds its connection
	// 40 ms, so the DB serves ~100 reads/s: the normal rate, as in the seed,
	// where Redis down at normal load already overwhelms the DB. At peak the
	// L1 misses (~260/s) are 2.6x what it serves, and the breaker must shed
	// them; with a 10k-entry L1 (92%) and 20 ms reads it never opened.
	redisWarmTop      = 20000
	l1Top             = 150
	redisClientTimout = 2 * time.Second
)

// DB demand: calls that wanted a connection in either pool (reads may go
// to the replica), served or not — served queries are capped by capacity,
// so they could not show a 10x surge at peak.
var redisDB = "db_requests.total"

var redisCrash = Experiment{
	Name:     "redis-crash",
	Title:    "Redis cache fully crashes",
	Scenario: 1,
	Shows: "SIGKILL of Redis under zipf-skewed reads. Unprotected (no L1, no DB breaker) every read " +
		"falls through to Postgres: the DB query rate jumps ~1/(1-hit ratio) and at 10x the DB pool " +
		"saturates — errors and timeouts. Protected: the in-process L1 serves the hot keys, the breaker " +
		"answers degraded instead of queueing, and after Redis restarts cold the hottest keys are warmed " +
		"before traffic reaches it, so the DB sees no thundering herd.",
	Services: []string{compose.SvcRedis},
	APIArgs:  []string{"--l1-size", fmt.Sprint(l1Top)},
	Load: Load{
		Rate: redisCrashRate,
		// enough connections for the peak rate times the client timeout:
		// an open-loop client keeps sending while the server piles up
		MaxInFlight: 2500,
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: itemReads(e, 1), Weight: 1}}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: redisClientTimout} },
	},
	Mitigation: []string{"l1_cache", "db_breaker", "cache_warm"},
	// Off in both runs, not claimed: the seed's layers here are L1, the
	// breaker, degraded answers and warming, and with the breaker on,
	// switching the timeouts off alone broke no check (its slow-call
	// threshold trips on the pool's queueing). The unprotected run queues
	// for connections without a bound: the seed's "threads all blocked".
	Off:               []string{"db_timeouts"},
	RunnerProtections: []string{"cache_warm"},
	Settings:          map[string]string{"breaker_cooldown": "30s", "query_cost": "40ms"},
	ScaledSettings:    []string{"breaker_cooldown"},
	Phases:            Phases{Baseline: 20 * time.Second, Fault: 40 * time.Second, Recovery: 40 * time.Second},
	Fault:             func(e *Env) chaos.Fault { return chaos.Kill(e.Stack.Controller(), compose.SvcRedis) },
	Fence:             redisFence,
	AfterRecover:      warmRedisStep,
	// Steady state before the fault: Redis (and L1, where on) hold the hot
	// set, as after hours of traffic; a short baseline cannot get there.
	Prepare: func(ctx context.Context, e *Env) error {
		// a fresh pool may hold a connection a failover check cut: retry
		return retryFor(ctx, 10*time.Second, func() error {
			if _, err := e.Admin().Warm(ctx, redisWarmTop, false); err != nil {
				return err
			}
			_, err := e.Admin().Warm(ctx, l1Top, true)
			return err
		})
	},
	Watch:  []string{redisDB, "db_queries.total", "cache.l1_hits", "cache.l1_stale", "cache.redis_hits", "cache.redis_errors", "degraded"},
	Gauges: []string{"breaker.state", "pool.primary.in_use"},
	Cascade: []Check{
		AtLeast("DB read demand, fault / baseline", RatioOf(Rate(Faulted, redisDB), Rate(Baseline, redisDB)), 5, Ratio),
		AtPeak(AnyOf("client sees the cascade",
			AtLeast("error rate", ErrorRate(Faulted), 0.20, Percent),
			AtLeast("p99", P99(Faulted), 0.9*redisClientTimout.Seconds(), Seconds),
		)),
	},
	Holds: []Check{
		AtMost("client error rate during the fault", ErrorRate(Faulted), 0.01, Percent),
		// The seed's "L1 hit: nobody notices". At peak a quarter of the
		// reads are L1 misses the breaker answers degraded, as the seed says.
		AtNormal(AtMost("degraded answers during the fault", DegradedRate(Faulted), 0.01, Percent)),
		AtMost("DB read demand during the fault / DB capacity", RatioOf(Rate(Faulted, redisDB), dbCapacity), 1, Ratio),
		// a herd lasts seconds; a 3 s mean keeps per-second noise of a few
		// misses per second from reading as one
		AtMost("DB demand 3s after restart / baseline", RatioOf(RateAfterRecovery(redisDB, 3*time.Second), Rate(Baseline, redisDB)), 2, Ratio),
		AtMost("recovered (errors <= 1%) after restart within", RecoveredWithin(0.01), 5, Seconds),
	},
}

// itemReads is GET /items/{zipf id}.
func itemReads(e *Env, seed int64) loadgen.Op {
	z, err := loadgen.NewZipf(itemCount, itemZipfS, seed)
	if err != nil {
		panic(err) // constants above are valid; this cannot happen
	}
	return &loadgen.HTTPOp{
		OpName: "read",
		Method: http.MethodGet,
		Client: e.HTTP,
		URL: func(uint64) (string, string) {
			k := fmt.Sprint(z.Next())
			return e.APIURL + "/items/" + k, k
		},
	}
}

// cache_warm is the seed's Redis recovery procedure, "warm first, then
// re-enable traffic": while Redis restarts, the API's link to it is down
// (redisFence), so the API keeps serving from L1 and the database; once
// Redis is back an operator's script loads the hottest keys (warmRedisStep)
// and only then the link comes back. Without cache_warm the API meets a
// cold cache.
func redisFence(e *Env) (chaos.Fault, error) {
	if !e.On("cache_warm") {
		return nil, nil
	}
	return chaos.Down(e.Toxi, compose.LinkRedis)
}

func warmRedisStep(ctx context.Context, e *Env) error {
	if !e.On("cache_warm") {
		return nil
	}
	return warmRedis(ctx, e.Topology, redisWarmTop)
}

// Redis layout the API reads: key item:<id>, value the payload, TTL base +
// jitter as the API's defaults (60s + up to 30s).
const (
	warmTTL    = 60 * time.Second
	warmJitter = 30 * time.Second
	warmBatch  = 500
)

// warmRedis is the operator's warming script: ids 1..top (the hottest keys
// under the zipf law, what L1 was covering) from the DB straight into Redis.
func warmRedis(ctx context.Context, top compose.Topology, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := operator.Postgres(ctx, top, "read")
	if err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rdb := operator.Redis(top)
	defer rdb.Close()
	for lo := 1; lo <= n; lo += warmBatch {
		rows, err := conn.Query(ctx, `SELECT id, payload FROM items WHERE id BETWEEN $1 AND $2`, lo, min(lo+warmBatch-1, n))
		if err != nil {
			return fmt.Errorf("warm: %w", err)
		}
		pipe := rdb.Pipeline()
		for rows.Next() {
			var id int64
			var payload string
			if err := rows.Scan(&id, &payload); err != nil {
				rows.Close()
				return fmt.Errorf("warm: %w", err)
			}
			pipe.Set(ctx, fmt.Sprintf("item:%d", id), payload, warmTTL+rand.N(warmJitter))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("warm: %w", err)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("warm: redis: %w", err)
		}
	}
	return nil
}
