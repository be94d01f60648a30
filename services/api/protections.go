package main

import (
	"strings"

	"github.com/whatif-lab/whatif/services/internal/protections"
)

// The api's protections, named after the seed's preventions.
const (
	protL1Cache         = "l1_cache"          // in-process cache in front of Redis, serves stale when all else fails
	protDBBreaker       = "db_breaker"        // circuit breakers on item reads (degraded answer when open) and on report queries (503)
	protTTLJitter       = "ttl_jitter"        // Redis TTL = base + rand(0, jitter)
	protRetryAfter      = "retry_after"       // 503 + Retry-After: on shed quotes, and instead of 500 on failed orders
	protIdempotency     = "idempotency"       // Idempotency-Key required and enforced on POST /orders
	protReplicaReads    = "replica_reads"     // reads go to the replica pool when one is configured
	protDBTimeouts      = "db_timeouts"       // acquire timeout, statement_timeout, 1s connect timeout
	protDBProxy         = "db_proxy"          // writes go through the failover-aware proxy (HAProxy); off: straight to the hosts (--pg-direct)
	protShedEarly       = "shed_early"        // /quote sheds once its queue exceeds shed_wait; off: only past shed_wait_late
	protInternalNoRetry = "internal_no_retry" // the BFF makes one call bound to its caller and bubbles 503 + Retry-After up
	protEarlyRefresh    = "early_refresh"     // XFetch: reads refresh the hot key before it expires, with a probability that grows near expiry
	protCoalesce        = "coalesce"          // one rebuild of a missing hot key at a time (singleflight); other readers share it
	protHeavyIsolation  = "heavy_isolation"   // report queries run in their own small pool on the replica, not the pool writes use
	protDBPooler        = "db_pooler"         // checkouts go through PgBouncer (transaction mode); off: a Postgres connection per checkout
	protPriorityShed    = "priority_shed"     // synchronous checkouts enter the database a few at a time, high priority first; one waiting too long is shed (503 + Retry-After)
	protRateLimit       = "rate_limit"        // per X-Client-ID token bucket on checkouts (429 + Retry-After)
	protCacheBound      = "cache_bound"       // the export cache is capped by bytes (--export-cache); off: a map that grows without bound
	protPayloadCap      = "payload_cap"       // exports above --export-cap are refused with 413 before they are built
	protQueueWrites     = "queue_writes"      // checkouts are enqueued to the broker (202) and applied by the checkout workers
	protHotKeyL1        = "hot_key_l1"        // hot product keys are served from an in-process copy (hot_l1_ttl), refreshed in the background
	protHotKeyReplicas  = "hot_key_replicas"  // hot product keys are read from a random copy product:{id}:N; copies sit on every cluster master
)

var protectionNames = []string{
	protL1Cache, protDBBreaker, protTTLJitter, protRetryAfter,
	protIdempotency, protReplicaReads, protDBTimeouts, protDBProxy,
	protShedEarly, protInternalNoRetry, protEarlyRefresh, protCoalesce, protHeavyIsolation,
	protDBPooler, protPriorityShed, protRateLimit, protCacheBound, protPayloadCap,
	protQueueWrites, protHotKeyL1, protHotKeyReplicas,
}

func joinNames() string { return strings.Join(protectionNames, ",") }

// newProtections builds the api's switchboard with spec applied.
func newProtections(spec string) (*protections.Set, error) {
	set, err := protections.New(protectionNames...)
	if err != nil {
		return nil, err
	}
	initial, err := set.Parse(spec)
	if err != nil {
		return nil, err
	}
	return set, set.Apply(initial)
}
