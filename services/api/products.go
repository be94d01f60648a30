package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/services/internal/cache"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// GET /products/{id} is the hot-key scenario's read: cache-aside through
// the Redis Cluster (key product:{id}) to Postgres (the items table). One
// product takes most reads; the node owning its slot takes that load.
//
// Hot keys are spotted by read rate (--hot-key-rate reads in a second);
// for them, and only for them:
//   - hot_key_l1: an in-process copy, fresh for hot_l1_ttl; a stale copy is
//     served while one background read refreshes it, so the hot key costs
//     about one Redis read per hot_l1_ttl instead of one per request;
//   - hot_key_replicas: reads pick one of the copies product:{id}:N at
//     random, chosen so that every master holds --hot-key-copies of them.

const productQuery = `SELECT payload FROM items WHERE id = $1`

func productKey(id int64) string { return "product:" + strconv.FormatInt(id, 10) }

// productCounters are GET /products' counters.
type productCounters struct {
	requests, hotRequests     atomic.Int64 // valid requests; of those, for a key that was hot
	l1Hits, l1Stale           atomic.Int64 // hot reads answered by L1 (fresh / stale while refreshing)
	redisReads, hotRedisReads atomic.Int64 // GETs sent to the cluster; of those, for hot keys (refreshes too)
	redisHits, redisMisses    atomic.Int64
	redisErrors, dbReads      atomic.Int64
	errors                    atomic.Int64 // failed answers
}

type productStatsJSON struct {
	Requests      int64  `json:"requests"`
	HotRequests   int64  `json:"hot_requests"`
	L1Hits        int64  `json:"l1_hits"`
	L1Stale       int64  `json:"l1_stale"`
	RedisReads    int64  `json:"redis_reads"`
	HotRedisReads int64  `json:"hot_redis_reads"`
	RedisHits     int64  `json:"redis_hits"`
	RedisMisses   int64  `json:"redis_misses"`
	RedisErrors   int64  `json:"redis_errors"`
	DBReads       int64  `json:"db_reads"`
	Errors        int64  `json:"errors"`
	HotIDs        string `json:"hot_ids"` // hot in the last second
}

// products is the state of GET /products.
type products struct {
	c       *cluster
	hot     *hotKeys
	l1      *cache.L1[int64, string]
	perNode int
	copies  sync.Map // id -> []string
	// refreshing holds the ids whose L1 copy is being renewed: one
	// background read per key at a time, however many stale reads arrive
	refreshing sync.Map
	count      productCounters
}

func (p *products) stats() productStatsJSON {
	c := &p.count
	return productStatsJSON{
		Requests: c.requests.Load(), HotRequests: c.hotRequests.Load(),
		L1Hits: c.l1Hits.Load(), L1Stale: c.l1Stale.Load(),
		RedisReads: c.redisReads.Load(), HotRedisReads: c.hotRedisReads.Load(),
		RedisHits: c.redisHits.Load(), RedisMisses: c.redisMisses.Load(),
		RedisErrors: c.redisErrors.Load(), DBReads: c.dbReads.Load(), Errors: c.errors.Load(),
		HotIDs: sortedIDs(p.hot.Hot(time.Now())),
	}
}

// copiesOf are the replica keys of a hot product, computed once per id
// from the slot map (which does not change in this stack).
func (p *products) copiesOf(id int64) ([]string, error) {
	if v, ok := p.copies.Load(id); ok {
		return v.([]string), nil
	}
	ks, err := spreadCopies(productKey(id), p.c.names(), p.perNode, p.c.ownerOf)
	if err != nil {
		return nil, err
	}
	p.copies.Store(id, ks)
	return ks, nil
}

func (a *app) getProduct(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	p := a.products
	if p == nil {
		httpx.Error(w, http.StatusNotFound, "no Redis Cluster configured (--redis-cluster)")
		return
	}
	p.count.requests.Add(1)
	hot := p.hot.Read(id, time.Now())
	if hot {
		p.count.hotRequests.Add(1)
	}
	l1On := hot && a.prot.On(protHotKeyL1)
	if l1On {
		if v, fresh, ok := p.l1.Get(id); ok {
			if fresh {
				p.count.l1Hits.Add(1)
			} else {
				p.count.l1Stale.Add(1)
				if _, busy := p.refreshing.LoadOrStore(id, struct{}{}); !busy {
					go a.refreshProduct(id)
				}
			}
			replyItem(w, id, v, "l1")
			return
		}
	}
	v, source, err := a.readProduct(r.Context(), id, hot)
	switch {
	case err == nil && source == "":
		httpx.Error(w, http.StatusNotFound, fmt.Sprintf("product %d not found", id))
	case err == nil:
		if l1On {
			p.l1.Set(id, v)
		}
		replyItem(w, id, v, source)
	case r.Context().Err() != nil:
	default:
		p.count.errors.Add(1)
		a.unavailable(w, err.Error())
	}
}

// refreshProduct renews a hot key's L1 copy in the background (the caller
// marked id in refreshing); on failure the stale copy stays and the next
// stale read tries again.
func (a *app) refreshProduct(id int64) {
	p := a.products
	defer p.refreshing.Delete(id)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if v, source, err := a.readProduct(ctx, id, true); err == nil && source != "" {
		p.l1.Set(id, v)
	}
}

// readProduct reads the product through the cluster (a random copy for a
// hot key with hot_key_replicas on), and on a miss from Postgres, filling
// the key it read. source is "" when the product does not exist.
func (a *app) readProduct(ctx context.Context, id int64, hot bool) (payload, source string, err error) {
	p := a.products
	key := productKey(id)
	if hot && a.prot.On(protHotKeyReplicas) {
		if ks, err := p.copiesOf(id); err == nil {
			key = ks[rand.IntN(len(ks))]
		}
	}
	p.count.redisReads.Add(1)
	if hot {
		p.count.hotRedisReads.Add(1)
	}
	v, err := p.c.rdb.Get(ctx, key).Result()
	switch {
	case err == nil:
		p.count.redisHits.Add(1)
		return v, "redis", nil
	case errors.Is(err, redis.Nil):
		p.count.redisMisses.Add(1)
	case ctx.Err() != nil:
		return "", "", ctx.Err()
	default:
		// the cache failed: the database still has the answer
		p.count.redisErrors.Add(1)
	}
	p.count.dbReads.Add(1)
	var payload2 *string
	err = a.readPool().Do(ctx, a.limits(), func(ctx context.Context, c *pgx.Conn) error {
		err := c.QueryRow(ctx, productQuery, id).Scan(&payload2)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("database: %w", err)
	}
	if payload2 == nil {
		return "", "", nil
	}
	if err := p.c.rdb.Set(ctx, key, *payload2, a.redisTTL()).Err(); err != nil {
		a.count.redisSetErrors.Add(1)
	}
	return *payload2, "db", nil
}
