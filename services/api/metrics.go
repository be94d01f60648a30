package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/metrics"
)

// registerMetrics exports the same atomics /admin/stats reads, so the two
// views never disagree.
func (a *app) registerMetrics() {
	r := metrics.NewRegistry()
	c := &a.count
	layer := func(l, result string) prometheus.Labels { return prometheus.Labels{"layer": l, "result": result} }
	const cacheName, cacheHelp = "api_cache_requests_total", "Item cache lookups by layer and result."
	r.MustRegister(
		metrics.Counter(cacheName, cacheHelp, layer("l1", "hit"), &c.l1Hits),
		metrics.Counter(cacheName, cacheHelp, layer("l1", "stale"), &c.l1Stale),
		metrics.Counter(cacheName, cacheHelp, layer("l1", "miss"), &c.l1Misses),
		metrics.Counter(cacheName, cacheHelp, layer("redis", "hit"), &c.redisHits),
		metrics.Counter(cacheName, cacheHelp, layer("redis", "miss"), &c.redisMisses),
		metrics.Counter(cacheName, cacheHelp, layer("redis", "error"), &c.redisErrors),
		metrics.Counter("api_redis_set_errors_total", "Failed Redis writes after a DB read.", nil, &c.redisSetErrors),
		metrics.Counter("api_degraded_total", "Degraded item answers (breaker open or DB failed).", nil, &c.degraded),
		metrics.Counter("api_orders_total", "Orders by result.", prometheus.Labels{"result": "created"}, &c.ordersCreated),
		metrics.Counter("api_orders_total", "Orders by result.", prometheus.Labels{"result": "replayed"}, &c.ordersReplayed),
		metrics.Counter("api_orders_total", "Orders by result.", prometheus.Labels{"result": "failed"}, &c.ordersFailed),
		metrics.GaugeFunc("api_in_flight", "Item and order requests being served.", nil,
			func() float64 { return float64(c.inFlight.Load()) }),
		metrics.GaugeFunc("api_l1_entries", "Entries in the L1 cache.", nil,
			func() float64 { return float64(a.l1.Len()) }),
		metrics.GaugeFunc("api_breaker_state", "DB circuit breaker: 0 closed, 1 open, 2 half-open.", nil,
			func() float64 { return float64(a.breaker.State()) }),
		metrics.CounterFunc("api_breaker_opens_total", "Transitions of the DB breaker into open.", nil,
			func() float64 { return float64(a.breaker.Stats().Opens) }),
		metrics.CounterFunc("api_breaker_rejected_total", "Calls refused by the DB breaker.", nil,
			func() float64 { return float64(a.breaker.Stats().Rejected) }),
	)
	for _, p := range a.pools() {
		registerPool(r, p)
	}
	a.reg = r
}

func registerPool(r *prometheus.Registry, p *db.Pool) {
	l := prometheus.Labels{"pool": p.Name()}
	stat := func(f func(db.Stats) float64) func() float64 { return func() float64 { return f(p.Stats()) } }
	r.MustRegister(
		metrics.CounterFunc("api_db_queries_total", "Statements sent to Postgres.", l,
			stat(func(s db.Stats) float64 { return float64(s.Queries) })),
		metrics.CounterFunc("api_db_errors_total", "Failed DB operations, acquire timeouts included.", l,
			stat(func(s db.Stats) float64 { return float64(s.Errors) })),
		metrics.GaugeFunc("api_pool_in_use", "Connections acquired.", l,
			stat(func(s db.Stats) float64 { return float64(s.InUse) })),
		metrics.GaugeFunc("api_pool_max", "Pool size.", l,
			stat(func(s db.Stats) float64 { return float64(s.Max) })),
		metrics.GaugeFunc("api_pool_waiting", "Callers blocked waiting for a connection.", l,
			stat(func(s db.Stats) float64 { return float64(s.Waiting) })),
		metrics.CounterFunc("api_pool_acquire_waits_total", "Acquires that found no idle connection.", l,
			stat(func(s db.Stats) float64 { return float64(s.AcquireWaits) })),
		metrics.CounterFunc("api_pool_acquire_wait_seconds_total", "Time spent acquiring connections.", l,
			stat(func(s db.Stats) float64 { return s.AcquireWaitSeconds })),
		metrics.CounterFunc("api_pool_acquire_timeouts_total", "Acquires that hit the db_timeouts bound.", l,
			stat(func(s db.Stats) float64 { return float64(s.AcquireTimeouts) })),
		metrics.CounterFunc("api_db_not_replicated_total", "Commits the synchronous standby did not confirm in time (answered as failures).", l,
			stat(func(s db.Stats) float64 { return float64(s.NotReplicated) })),
	)
}
