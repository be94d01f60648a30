package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

const (
	warmBatch = 200
	warmMax   = 10_000_000
)

func (a *app) getSettings(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, a.settings.snapshot())
}

// putSettings takes a partial {"query_cost":"20ms","breaker_cooldown":"3s",...}
// and returns every setting after the change.
func (a *app) putSettings(w http.ResponseWriter, r *http.Request) {
	var update map[string]string
	if err := httpx.Decode(w, r, &update); err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error()+`; want {"name":"duration",...}`)
		return
	}
	kv, err := knob.Parse(update)
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	a.applySettings(kv)
	httpx.JSON(w, http.StatusOK, a.settings.snapshot())
}

// reset clears L1 and closes the breaker between experiment variants.
// Counters are monotonic and stay.
func (a *app) reset(w http.ResponseWriter, r *http.Request) {
	a.l1.Clear()
	a.exports.clear()
	if a.products != nil {
		a.products.l1.Clear()
	}
	debug.FreeOSMemory() // the next run's memory checks start from what is really in use
	a.memPeak.reset()
	a.breaker.Reset()
	a.reportBreaker.Reset()
	// a spike's checkout connections must not fill the next run's database
	for _, p := range []*db.Pool{a.unpooled, a.bouncer} {
		if p != nil {
			p.Reset()
		}
	}
	// each run learns the database's speed afresh, as a new process would
	for _, p := range a.pools() {
		p.ForgetServiceTime()
	}
	a.retries.reset()
	httpx.JSON(w, http.StatusOK, map[string]any{"reset": true, "breaker": a.breaker.State().String()})
}

func (a *app) getStats(w http.ResponseWriter, r *http.Request) {
	httpx.JSON(w, http.StatusOK, a.stats())
}

type warmRequest struct {
	Top *int `json:"top"`
	// L1 also loads ids 1..top into the in-process cache (when l1_cache is
	// on): the state a long-running instance reaches under a zipf load,
	// which a short experiment baseline cannot.
	L1 bool `json:"l1"`
}

// warm pre-populates Redis after a restart (the seed's recovery step 2):
// every key in L1, then ids 1..top (the hottest under a zipf load) read from
// the DB in batches. It answers how many keys it wrote.
func (a *app) warm(w http.ResponseWriter, r *http.Request) {
	top, intoL1, err := decodeWarm(w, r)
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	fromL1, fromDB, err := a.warmRedis(r.Context(), top, intoL1 && a.prot.On(protL1Cache))
	res := map[string]any{"written": fromL1 + fromDB, "from_l1": fromL1, "from_db": fromDB}
	if err != nil {
		res["error"] = err.Error()
		httpx.JSON(w, http.StatusBadGateway, res)
		return
	}
	httpx.JSON(w, http.StatusOK, res)
}

// decodeWarm reads POST /admin/warm's body. Every error is the client's
// (400); it is apart from the handler so that it can be fuzzed without
// Redis or a database.
func decodeWarm(w http.ResponseWriter, r *http.Request) (top int64, intoL1 bool, err error) {
	var req warmRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return 0, false, fmt.Errorf(`%w; want {"top":N}`, err)
	}
	if req.Top == nil || *req.Top < 0 || *req.Top > warmMax {
		return 0, false, fmt.Errorf(`"top" is required, an integer in 0..%d`, warmMax)
	}
	return int64(*req.Top), req.L1, nil
}

func (a *app) warmRedis(ctx context.Context, top int64, intoL1 bool) (fromL1, fromDB int64, err error) {
	seen := map[int64]bool{}
	batch := map[int64]string{}
	for id, v := range a.l1.All() {
		seen[id] = true
		batch[id] = v
		if len(batch) == warmBatch {
			if err := a.setMany(ctx, batch); err != nil {
				return fromL1, 0, err
			}
			fromL1 += int64(len(batch))
			clear(batch)
		}
	}
	if err := a.setMany(ctx, batch); err != nil {
		return fromL1, 0, err
	}
	fromL1 += int64(len(batch))

	for lo := int64(1); lo <= top; lo += warmBatch {
		hi := min(lo+warmBatch-1, top)
		clear(batch)
		// No db_timeouts limits: warming is an operator's batch job, bounded
		// by the caller's request timeout, not a user request.
		err := a.readPool().Do(ctx, db.Limits{}, func(ctx context.Context, c *pgx.Conn) error {
			rows, err := c.Query(ctx, `SELECT id, payload FROM items WHERE id BETWEEN $1 AND $2`, lo, hi)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				var p string
				if err := rows.Scan(&id, &p); err != nil {
					return err
				}
				if !seen[id] {
					batch[id] = p
				}
				if intoL1 {
					a.l1.Set(id, p)
				}
			}
			return rows.Err()
		})
		if err != nil {
			return fromL1, fromDB, fmt.Errorf("read items %d..%d: %w", lo, hi, err)
		}
		if err := a.setMany(ctx, batch); err != nil {
			return fromL1, fromDB, err
		}
		fromDB += int64(len(batch))
	}
	return fromL1, fromDB, nil
}

// setMany writes a batch in one pipeline, each key with its own TTL (so
// jitter, when on, spreads the warm set's expiries).
func (a *app) setMany(ctx context.Context, kv map[int64]string) error {
	if len(kv) == 0 {
		return nil
	}
	_, err := a.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, v := range kv {
			p.Set(ctx, itemKey(id), v, a.redisTTL())
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}
