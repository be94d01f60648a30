package experiments

import (
	"context"
	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 1: Redis crashes; all traffic falls through to the database.
const (
	redisCrashRate    = 100  // req/s at normal load; peak is 10x
	redisWarmTop      = 5000 // keys warmed before each run: ~92% of reads under the Zipf law
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
	Mitigation:        []string{"l1_cache", "db_breaker", "db_timeouts", "cache_warm"},
	RunnerProtections: []string{"cache_warm"},
	Settings:          map[string]string{"breaker_cooldown": "30s"},
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
			_, err := e.admin.Warm(ctx, redisWarmTop, true)
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
		AtLeast("L1 share of reads during the fault",
			Share(Faulted, []string{"cache.l1_hits", "cache.l1_stale"}, []string{"item_reads"}), 0.80, Percent),
		AtMost("client error rate during the fault", ErrorRate(Faulted), 0.01, Percent),
		AtMost("DB read demand during the fault / DB capacity", RatioOf(Rate(Faulted, redisDB), dbCapacity), 1, Ratio),
		// a herd lasts seconds; a 3 s mean keeps per-second noise of a few
		// misses per second from reading as one
		AtMost("DB demand 3s after restart / baseline", RatioOf(RateAfterRecovery(redisDB, 3*time.Second), Rate(Baseline, redisDB)), 2, Ratio),
		AtMost("recovered (errors <= 1%) after restart within", RecoveredWithin(0.01), 5, Seconds),
	},
}

// dbCapacity is pool size / query cost, both read from the API, so the
// capacity the checks use is the one the system ran with.
func dbCapacity(r *Run) (float64, error) {
	if len(r.Samples) == 0 {
		return 0, errNoData
	}
	s := r.Samples[0]
	pool, cost := s.Values["pool.primary.max"], s.Values["settings.query_cost_seconds"]
	if pool <= 0 || cost <= 0 {
		return 0, errNoData
	}
	return pool / cost, nil
}
