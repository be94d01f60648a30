package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/admin"
	"github.com/whatif-lab/whatif/services/internal/breaker"
	"github.com/whatif-lab/whatif/services/internal/cache"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
	"github.com/whatif-lab/whatif/services/internal/metrics"
	"github.com/whatif-lab/whatif/services/internal/protections"
	"github.com/whatif-lab/whatif/services/internal/ratelimit"
)

// app is the API's state: dependencies, switches, live settings, counters.
type app struct {
	prot     *protections.Set
	settings settings
	l1       *cache.L1[int64, string]
	rdb      *redis.Client
	primary  *db.Pool
	replica  *db.Pool // nil without --pg-replica
	direct   *db.Pool // nil without --pg-direct
	reports  *db.Pool // report queries on the replica; nil without --pg-replica
	unpooled *db.Pool // checkouts without db_pooler: a connection each, opened on demand
	bouncer  *db.Pool // checkouts with db_pooler, through PgBouncer; nil without --pgbouncer
	limiter  *ratelimit.PerClient
	// checkout admission (priority_shed): a few checkouts at a time in the
	// database, high priority first; a checkout waiting longer than its
	// priority's bound is shed
	checkoutGate              *priorityGate
	shedWaitLow, shedWaitHigh time.Duration
	breaker                   *breaker.Breaker // item reads
	// reportBreaker guards report queries: a report that lost its index
	// trips it, and while open the DB is spared the scans
	reportBreaker *breaker.Breaker
	shed          shedder
	retries       retrySchedule      // when shed quotes are told to come back (retry_after)
	self          string             // http://<listen address>: the quote chain calls its next layer here
	internal      *http.Client       // the quote chain's client for its next layer
	homeFlight    singleflight.Group // coalesces /home rebuilds
	count         counters
	products      *products // GET /products through the Redis Cluster; nil without --redis-cluster
	token         string
	exports       *exportCache // GET /exports
	exportCap     int64        // payload_cap: largest export built, bytes
	stateFile     string       // "" = switches are not kept across restarts
	boot          time.Time
	memPeak       memPeak
	queue         *checkoutQueue // nil without --broker
	workerLog     rateLimitedLog
	reg           *prometheus.Registry
}

// connectTimeout bounds opening a DB connection when db_timeouts is on.
const connectTimeout = time.Second

// limits are the DB bounds of one request: with db_timeouts on, the
// configured acquire and statement timeouts (the API's SLO for a DB call,
// knobs db_acquire_timeout and db_statement_timeout).
func (a *app) limits() db.Limits {
	if !a.prot.On(protDBTimeouts) {
		return db.Limits{}
	}
	return db.Limits{Acquire: a.settings.get(knob.AcquireTimeout), Statement: a.settings.get(knob.StmtTimeout)}
}

// dbConnectTimeout is read by the pools before each new connection; 0
// leaves pgxpool's default (2 minutes).
func (a *app) dbConnectTimeout() time.Duration {
	if a.prot.On(protDBTimeouts) {
		return connectTimeout
	}
	return 0
}

// writePool is where writes go: through the failover-aware proxy, or with
// db_proxy off straight to the database hosts — the seed's app whose "DNS
// still points at the dead primary".
func (a *app) writePool() *db.Pool {
	if a.direct != nil && !a.prot.On(protDBProxy) {
		return a.direct
	}
	return a.primary
}

// readPool is where item and recent-order reads go.
func (a *app) readPool() *db.Pool {
	if a.replica != nil && a.prot.On(protReplicaReads) {
		return a.replica
	}
	return a.writePool()
}

func (a *app) pools() []*db.Pool {
	ps := []*db.Pool{a.primary}
	for _, p := range []*db.Pool{a.replica, a.direct, a.reports, a.unpooled, a.bouncer} {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}

// applySettings stores validated knob values and pushes them into the
// components that keep their own copy.
func (a *app) applySettings(kv knob.Values) {
	a.settings.mu.Lock()
	defer a.settings.mu.Unlock()
	if a.settings.v == nil {
		a.settings.v = knob.Values{}
	}
	for n, d := range kv {
		a.settings.v[n] = d
		switch n {
		case knob.BreakerCooldown:
			a.breaker.SetCooldown(d)
			a.reportBreaker.SetCooldown(d)
		case knob.BreakerSlowCall:
			a.breaker.SetSlowCall(d)
			a.reportBreaker.SetSlowCall(d)
		case knob.L1TTL:
			_ = a.l1.SetTTL(d) // validated by the knob's range
		case knob.HotL1TTL:
			if a.products != nil {
				_ = a.products.l1.SetTTL(d)
			}
		}
	}
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.Handle("GET /items/{id}", a.track(a.getItem))
	mux.Handle("POST /orders", a.track(a.postOrder))
	mux.Handle("GET /orders/recent", a.track(a.recentOrders))
	mux.Handle("GET /quote/{id}", a.track(a.getQuote))
	mux.Handle("GET /bff/quote/{id}", a.track(a.bffQuote))
	mux.Handle("GET /pricing/quote/{id}", a.track(a.pricingQuote))
	mux.Handle("GET /home", a.track(a.getHome))
	mux.Handle("GET /customers/{id}/spend", a.track(a.customerSpend))
	mux.Handle("POST /checkout", a.track(a.checkout))
	mux.Handle("GET /exports/{id}", a.track(a.getExport))
	mux.Handle("GET /products/{id}", a.track(a.getProduct))
	mux.Handle("GET /metrics", metrics.Handler(a.reg))

	adm := http.NewServeMux()
	adm.Handle("/admin/protections", a.persisting(admin.Protections(a.prot)))
	adm.HandleFunc("GET /admin/settings", a.getSettings)
	adm.Handle("PUT /admin/settings", a.persisting(http.HandlerFunc(a.putSettings)))
	adm.HandleFunc("POST /admin/reset", a.reset)
	adm.HandleFunc("POST /admin/warm", a.warm)
	adm.HandleFunc("GET /admin/stats", a.getStats)
	mux.Handle("/admin/", admin.Guard(a.token, adm))
	return mux
}

// track counts requests in flight on the data endpoints.
func (a *app) track(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.count.inFlight.Add(1)
		defer a.count.inFlight.Add(-1)
		h(w, r)
	})
}
