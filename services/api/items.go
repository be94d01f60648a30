package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/breaker"
	"github.com/whatif-lab/whatif/services/internal/cache"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// itemQuery holds its connection for $2 seconds whether or not the id
// exists (the sleep is in a one-row FROM item that is always evaluated), so
// DB capacity is db-pool / query-cost for every read, hit or 404.
const itemQuery = `SELECT i.id, i.payload FROM (SELECT pg_sleep($2::float8)) AS s LEFT JOIN items i ON i.id = $1::bigint`

var errBreakerOpen = errors.New("circuit breaker open: database call skipped")

type itemJSON struct {
	ID      int64  `json:"id"`
	Payload string `json:"payload"`
	Source  string `json:"source"`
}

func itemKey(id int64) string { return "item:" + strconv.FormatInt(id, 10) }

// parseID accepts a positive decimal integer that fits int64.
func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, fmt.Errorf("item id %q: want a positive integer", s)
	}
	return id, nil
}

// getItem serves GET /items/{id}: L1 -> Redis -> DB (breaker-guarded), then
// the fallbacks: stale L1 copy, degraded answer, or 500.
func (a *app) getItem(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	a.count.itemReads.Add(1)
	ctx := r.Context()
	l1On := a.prot.On(protL1Cache)
	var stale string
	var haveStale bool
	if l1On {
		if v, fresh, ok := a.l1.Get(id); ok && fresh {
			a.count.l1Hits.Add(1)
			replyItem(w, id, v, "l1")
			return
		} else if ok {
			stale, haveStale = v, true
		}
		a.count.l1Misses.Add(1)
	}

	v, err := a.rdb.Get(ctx, itemKey(id)).Result()
	switch {
	case err == nil:
		a.count.redisHits.Add(1)
		if l1On {
			a.l1.Set(id, v)
		}
		replyItem(w, id, v, "redis")
		return
	case errors.Is(err, redis.Nil):
		a.count.redisMisses.Add(1)
	case ctx.Err() != nil:
		return // client gone
	default:
		a.count.redisErrors.Add(1)
		if haveStale {
			// Redis is failing: the seed's L1 layer serves what it holds,
			// seconds stale, instead of sending the hot keys to the DB.
			a.count.l1Stale.Add(1)
			replyItem(w, id, stale, "l1-stale")
			return
		}
		// no L1 copy: fall through to the DB at once
	}

	payload, found, err := a.readItem(ctx, id)
	switch {
	case err == nil && !found:
		httpx.Error(w, http.StatusNotFound, fmt.Sprintf("item %d not found", id))
	case err == nil:
		a.fill(ctx, id, payload, l1On)
		replyItem(w, id, payload, "db")
	case ctx.Err() != nil:
		// client gone; nobody to answer
	case haveStale:
		a.count.l1Stale.Add(1)
		replyItem(w, id, stale, "l1-stale")
	case a.prot.On(protDBBreaker):
		a.count.degraded.Add(1)
		w.Header().Set("X-Degraded", "1")
		w.Header().Set("X-Source", "degraded")
		httpx.JSON(w, http.StatusOK, map[string]any{"id": id, "degraded": true})
	default:
		httpx.Error(w, http.StatusInternalServerError, "database: "+err.Error())
	}
}

func replyItem(w http.ResponseWriter, id int64, payload, source string) {
	w.Header().Set("X-Source", source)
	httpx.JSON(w, http.StatusOK, itemJSON{ID: id, Payload: payload, Source: source})
}

// readItem runs the item query on the read pool, through the breaker when
// db_breaker is on.
func (a *app) readItem(ctx context.Context, id int64) (payload string, found bool, err error) {
	useBreaker := a.prot.On(protDBBreaker)
	var ticket breaker.Ticket
	if useBreaker {
		var ok bool
		if ticket, ok = a.breaker.Allow(); !ok {
			return "", false, errBreakerOpen
		}
	}
	start := time.Now()
	payload, found, err = a.queryItem(ctx, a.readPool(), a.limits(), id)
	if useBreaker {
		a.breaker.Done(ticket, outcome(ctx, err), time.Since(start))
	}
	return payload, found, err
}

// queryItem runs the item query, which costs query_cost, on pool.
func (a *app) queryItem(ctx context.Context, pool *db.Pool, lim db.Limits, id int64) (payload string, found bool, err error) {
	cost := a.settings.get(knob.QueryCost)
	err = pool.Do(ctx, lim, func(ctx context.Context, c *pgx.Conn) error {
		var gotID *int64
		var p *string
		if err := c.QueryRow(ctx, itemQuery, id, cost.Seconds()).Scan(&gotID, &p); err != nil {
			return err
		}
		if gotID != nil && p != nil {
			payload, found = *p, true
		}
		return nil
	})
	return payload, found, err
}

// outcome classifies a DB call for the breaker: a call the client cancelled
// says nothing about the database.
func outcome(ctx context.Context, err error) breaker.Outcome {
	switch {
	case err == nil:
		return breaker.Success
	case ctx.Err() != nil:
		return breaker.Ignore
	}
	return breaker.Failure
}

// fill writes a DB answer back to Redis (and L1). A Redis failure is
// counted, not returned: the client already has its answer.
func (a *app) fill(ctx context.Context, id int64, payload string, l1On bool) {
	if l1On {
		a.l1.Set(id, payload)
	}
	if err := a.rdb.Set(ctx, itemKey(id), payload, a.redisTTL()).Err(); err != nil {
		a.count.redisSetErrors.Add(1)
	}
}

// redisTTL is the TTL for a Redis write: base, plus jitter when ttl_jitter is on.
func (a *app) redisTTL() time.Duration {
	base := a.settings.get(knob.RedisTTL)
	if !a.prot.On(protTTLJitter) {
		return base
	}
	return cache.TTL(base, a.settings.get(knob.TTLJitter))
}
