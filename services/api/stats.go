package main

import (
	"runtime/metrics"
	"sync/atomic"

	"github.com/whatif-lab/whatif/services/internal/db"
)

// counters are monotonic; the experiment runner samples /admin/stats and
// differences them per second, so nothing ever resets them.
type counters struct {
	l1Hits, l1Stale, l1Misses             atomic.Int64
	redisHits, redisMisses, redisErrors   atomic.Int64
	redisSetErrors                        atomic.Int64
	degraded                              atomic.Int64
	itemReads                             atomic.Int64 // valid GET /items requests, whichever layer answers
	ordersCreated, ordersReplayed         atomic.Int64
	ordersFailed                          atomic.Int64
	inFlight                              atomic.Int64 // gauge: item and order requests being served
	quoteRequests, quoteShed, quoteServed atomic.Int64 // GET /quote: arrivals, shed (503), answered from the DB
	bffRequests, bffUpstream              atomic.Int64 // GET /bff/quote: requests, calls to /pricing/quote
	pricingRequests, pricingUpstream      atomic.Int64 // GET /pricing/quote: requests, calls to /quote
	homeRequests, homeHits, homeMisses    atomic.Int64 // GET /home: requests, Redis hits, key missing
	homeRebuilds, homeEarly, homeErrors   atomic.Int64 // rebuild queries started, XFetch draws that said refresh, failed answers
	spendRequests                         atomic.Int64 // GET /customers/{id}/spend
	checkouts, checkoutOK                 atomic.Int64 // POST /checkout: valid requests, answered 200
	checkoutLimited, checkoutShed         atomic.Int64 // refused by rate_limit (429), shed by priority_shed (503)
	checkoutConnFailed, checkoutRefused   atomic.Int64 // a checkout could not open its connection; of those, Postgres said "too many clients"
	checkoutQueued, checkoutQueueErrors   atomic.Int64 // queue_writes: acknowledged by the broker (202), not (503)
	checkoutApplied, checkoutRedelivered  atomic.Int64 // workers: applied, skipped as applied before
	checkoutWorkerErrors, checkoutPoison  atomic.Int64 // workers: failed fetch/apply/commit (retried), undecodable records skipped
	exports, exportsRejected              atomic.Int64 // GET /exports: valid requests, refused by payload_cap (413)
	exportHits, exportsBuilt              atomic.Int64 // answered from the export cache, built
}

// statsJSON is the shape of GET /admin/stats.
type statsJSON struct {
	DBQueries map[string]int64 `json:"db_queries"`
	// DBRequests counts calls that wanted a DB connection, served or not:
	// the load the DB is asked for, which db_queries caps at capacity.
	DBRequests map[string]int64    `json:"db_requests"`
	DBErrors   map[string]int64    `json:"db_errors"`
	Cache      cacheStats          `json:"cache"`
	Breaker    breakerStats        `json:"breaker"`
	ReportBrk  breakerStats        `json:"report_breaker"`
	Pool       map[string]db.Stats `json:"pool"`
	InFlight   int64               `json:"in_flight"`
	Degraded   int64               `json:"degraded"`
	ItemReads  int64               `json:"item_reads"`
	Orders     orderStats          `json:"orders"`
	Quote      quoteStats          `json:"quote"`
	BFF        relayStats          `json:"bff"`
	Pricing    relayStats          `json:"pricing"`
	Home       homeStats           `json:"home"`
	SpendReqs  int64               `json:"spend_requests"`
	Checkout   checkoutStats       `json:"checkout"`
	Export     exportStats         `json:"export"`
	Mem        memStats            `json:"mem"`
	BootUnix   float64             `json:"boot_unix"` // when this process started: a new value is a restart
	L1Entries  int                 `json:"l1_entries"`
	// Products and Cluster exist with --redis-cluster: GET /products'
	// counters and, per cluster node, the commands the api sent it.
	Products  *productStatsJSON          `json:"products,omitempty"`
	Cluster   map[string]clusterNodeJSON `json:"cluster,omitempty"`
	HeapBytes uint64                     `json:"heap_bytes"`
	// Settings in seconds ("query_cost_seconds", ...), so the runner judges
	// against the capacity the API actually ran with.
	Settings map[string]float64 `json:"settings"`
}

type cacheStats struct {
	L1Hits         int64 `json:"l1_hits"`
	L1Stale        int64 `json:"l1_stale"`
	L1Misses       int64 `json:"l1_misses"`
	RedisHits      int64 `json:"redis_hits"`
	RedisMisses    int64 `json:"redis_misses"`
	RedisErrors    int64 `json:"redis_errors"`
	RedisSetErrors int64 `json:"redis_set_errors"`
}

type breakerStats struct {
	State    string `json:"state"`
	Opens    int64  `json:"opens"`
	Rejected int64  `json:"rejected"`
}

type quoteStats struct {
	Requests int64 `json:"requests"`
	Shed     int64 `json:"shed"`
	Served   int64 `json:"served"`
	InFlight int64 `json:"in_flight"` // gauge: admitted, not yet answered
}

// relayStats counts one internal layer of the quote chain: requests it
// got, calls it made to the next layer.
type relayStats struct {
	Requests int64 `json:"requests"`
	Upstream int64 `json:"upstream_calls"`
}

type checkoutStats struct {
	Requests     int64 `json:"requests"`
	OK           int64 `json:"ok"`
	Limited      int64 `json:"limited"`
	Shed         int64 `json:"shed"`
	ConnFail     int64 `json:"connect_failed"`
	Refused      int64 `json:"too_many_clients"`
	InFlight     int64 `json:"in_flight"` // gauge: in priority_shed's gate, admitted or waiting
	Queued       int64 `json:"queued"`
	QueueErrors  int64 `json:"queue_errors"`
	Applied      int64 `json:"applied"`
	Redelivered  int64 `json:"redelivered"`
	WorkerErrors int64 `json:"worker_errors"`
	Poison       int64 `json:"poison"`
	Backlog      int64 `json:"backlog"` // gauge: queued here, not yet applied here
}

type homeStats struct {
	Requests       int64 `json:"requests"`
	Hits           int64 `json:"hits"`
	Misses         int64 `json:"misses"`
	Rebuilds       int64 `json:"rebuilds"`
	EarlyRefreshes int64 `json:"early_refreshes"`
	Errors         int64 `json:"errors"`
}

type exportStats struct {
	Requests      int64 `json:"requests"`
	Rejected      int64 `json:"rejected"`
	Hits          int64 `json:"hits"`
	Built         int64 `json:"built"`
	CachedEntries int   `json:"cached_entries"`
	CachedBytes   int64 `json:"cached_bytes"`
}

type orderStats struct {
	Created  int64 `json:"created"`
	Replayed int64 `json:"replayed"`
	Failed   int64 `json:"failed"`
}

func (a *app) stats() statsJSON {
	c := &a.count
	br, rb := a.breaker.Stats(), a.reportBreaker.Stats()
	s := statsJSON{
		DBQueries:  map[string]int64{"primary": 0, "replica": 0, "reports": 0, "unpooled": 0, "bouncer": 0},
		DBRequests: map[string]int64{"primary": 0, "replica": 0, "reports": 0, "unpooled": 0, "bouncer": 0},
		DBErrors:   map[string]int64{"primary": 0, "replica": 0, "reports": 0, "unpooled": 0, "bouncer": 0},
		Pool:       map[string]db.Stats{"primary": {}, "replica": {}, "reports": {}, "unpooled": {}, "bouncer": {}},
		Cache: cacheStats{
			L1Hits: c.l1Hits.Load(), L1Stale: c.l1Stale.Load(), L1Misses: c.l1Misses.Load(),
			RedisHits: c.redisHits.Load(), RedisMisses: c.redisMisses.Load(), RedisErrors: c.redisErrors.Load(),
			RedisSetErrors: c.redisSetErrors.Load(),
		},
		Breaker:   breakerStats{State: br.State.String(), Opens: br.Opens, Rejected: br.Rejected},
		ReportBrk: breakerStats{State: rb.State.String(), Opens: rb.Opens, Rejected: rb.Rejected},
		InFlight:  c.inFlight.Load(),
		Degraded:  c.degraded.Load(),
		ItemReads: c.itemReads.Load(),
		Orders:    orderStats{Created: c.ordersCreated.Load(), Replayed: c.ordersReplayed.Load(), Failed: c.ordersFailed.Load()},
		Quote:     quoteStats{Requests: c.quoteRequests.Load(), Shed: c.quoteShed.Load(), Served: c.quoteServed.Load(), InFlight: a.shed.inFlight.Load()},
		BFF:       relayStats{Requests: c.bffRequests.Load(), Upstream: c.bffUpstream.Load()},
		Pricing:   relayStats{Requests: c.pricingRequests.Load(), Upstream: c.pricingUpstream.Load()},
		Home: homeStats{Requests: c.homeRequests.Load(), Hits: c.homeHits.Load(), Misses: c.homeMisses.Load(),
			Rebuilds: c.homeRebuilds.Load(), EarlyRefreshes: c.homeEarly.Load(), Errors: c.homeErrors.Load()},
		SpendReqs: c.spendRequests.Load(),
		Checkout: checkoutStats{Requests: c.checkouts.Load(), OK: c.checkoutOK.Load(), Limited: c.checkoutLimited.Load(),
			Shed: c.checkoutShed.Load(), ConnFail: c.checkoutConnFailed.Load(), Refused: c.checkoutRefused.Load(), InFlight: a.checkoutGate.inFlight.Load(),
			Queued: c.checkoutQueued.Load(), QueueErrors: c.checkoutQueueErrors.Load(), Applied: c.checkoutApplied.Load(),
			Redelivered: c.checkoutRedelivered.Load(), WorkerErrors: c.checkoutWorkerErrors.Load(), Poison: c.checkoutPoison.Load()},
		Export: exportStats{Requests: c.exports.Load(), Rejected: c.exportsRejected.Load(),
			Hits: c.exportHits.Load(), Built: c.exportsBuilt.Load()},
		Mem:       a.memNow(),
		BootUnix:  float64(a.boot.UnixNano()) / 1e9,
		L1Entries: a.l1.Len(),
		HeapBytes: heapBytes(),
		Settings:  a.settings.seconds(),
	}
	s.Export.CachedEntries, s.Export.CachedBytes = a.exports.size()
	s.Checkout.Backlog = s.Checkout.Queued - s.Checkout.Applied
	if a.products != nil {
		ps := a.products.stats()
		s.Products, s.Cluster = &ps, a.products.c.stats()
	}
	for _, p := range a.pools() {
		ps := p.Stats()
		s.DBQueries[p.Name()] = ps.Queries
		s.DBErrors[p.Name()] = ps.Errors
		s.Pool[p.Name()] = ps
		s.DBQueries["total"] += ps.Queries
		s.DBRequests[p.Name()] = ps.Requests
		s.DBRequests["total"] += ps.Requests
	}
	return s
}

// heapBytes reads live heap bytes without the stop-the-world of ReadMemStats.
func heapBytes() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

func (a *app) memNow() memStats {
	m := readMem()
	a.memPeak.observe(m.charged())
	m.Peak = a.memPeak.v.Load()
	return m
}
