package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/cache"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// GET /home is the cache-stampede scenario's one very hot key: a homepage
// built by an expensive query (rebuild_cost) and cached in Redis under
// homeKey with home_ttl. With no protection every request that finds the
// key missing rebuilds it itself.
const (
	homeKey = "home"
	// homeRebuildQuery holds its connection for rebuild_cost and returns
	// the "homepage": the 50 first items, summarised.
	homeRebuildQuery = `SELECT count(*), coalesce(sum(length(i.payload)), 0) FROM (SELECT pg_sleep($1::float8)) AS s, items i WHERE i.id <= 50`
	// xfetchBeta > 1 favours refreshing earlier; 2 makes a refresh before
	// expiry near certain at the request rates the experiment uses.
	xfetchBeta = 2.0
	// homeRebuildTimeout bounds a rebuild shared by coalesced readers or
	// run in the background, which no single request's context owns.
	homeRebuildTimeout = 5 * time.Second
)

// homeEntry is what Redis holds: how long the last rebuild took (XFetch's
// delta) and the page.
type homeEntry struct {
	delta   time.Duration
	payload string
}

func (h homeEntry) encode() string {
	return strconv.FormatInt(h.delta.Microseconds(), 10) + ":" + h.payload
}

func decodeHome(s string) (homeEntry, error) {
	d, p, ok := strings.Cut(s, ":")
	us, err := strconv.ParseInt(d, 10, 64)
	// above MaxInt64/1000 µs, the Duration would overflow to a negative delta
	if !ok || err != nil || us < 0 || us > math.MaxInt64/int64(time.Microsecond) {
		return homeEntry{}, fmt.Errorf("malformed %s entry %.40q", homeKey, s)
	}
	return homeEntry{delta: time.Duration(us) * time.Microsecond, payload: p}, nil
}

// xfetch is probabilistic early expiration (Vattani, Chierichetti and
// Lowenstein, "Optimal probabilistic cache stampede prevention", VLDB
// 2015): a read refreshes the entry when -delta*beta*ln(u) >= the time left,
// so the chance grows as expiry nears and with how long a rebuild takes.
// u is uniform in (0, 1].
func xfetch(left, delta time.Duration, beta, u float64) bool {
	if left <= 0 {
		return true
	}
	return -float64(delta)*beta*math.Log(u) >= float64(left)
}

func (a *app) getHome(w http.ResponseWriter, r *http.Request) {
	a.count.homeRequests.Add(1)
	ctx := r.Context()
	entry, left, err := a.readHome(ctx)
	switch {
	case err == nil:
		a.count.homeHits.Add(1)
		if a.prot.On(protEarlyRefresh) && xfetch(left, entry.delta, xfetchBeta, 1-rand.Float64()) {
			a.count.homeEarly.Add(1)
			go a.refreshHomeEarly()
		}
		replyHome(w, entry.payload, "redis")
		return
	case ctx.Err() != nil:
		return
	case !errors.Is(err, redis.Nil):
		a.count.homeErrors.Add(1)
		a.unavailable(w, "cache: "+err.Error())
		return
	}
	a.count.homeMisses.Add(1)
	var payload string
	if a.prot.On(protCoalesce) {
		// One rebuild per key at a time; concurrent readers wait for it and
		// share its answer. It runs detached so one reader leaving does
		// not fail the others.
		v, err2, _ := a.homeFlight.Do(homeKey, func() (any, error) {
			c, cancel := context.WithTimeout(context.WithoutCancel(ctx), homeRebuildTimeout)
			defer cancel()
			// A reader that missed just before the last rebuild stored the
			// key starts a new flight after it ended: look again first.
			if e, _, err := a.readHome(c); err == nil {
				return e.payload, nil
			}
			return a.rebuildHome(c)
		})
		payload, _ = v.(string)
		err = err2
	} else {
		payload, err = a.rebuildHome(ctx)
	}
	switch {
	case err == nil:
		replyHome(w, payload, "db")
	case ctx.Err() != nil:
	default:
		a.count.homeErrors.Add(1)
		a.unavailable(w, "rebuilding the homepage: "+err.Error())
	}
}

func replyHome(w http.ResponseWriter, payload, source string) {
	w.Header().Set("X-Source", source)
	httpx.JSON(w, http.StatusOK, map[string]string{"home": payload, "source": source})
}

// readHome fetches the entry and its time to live in one round trip.
func (a *app) readHome(ctx context.Context) (homeEntry, time.Duration, error) {
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := a.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, homeKey)
		ttl = p.PTTL(ctx, homeKey)
		return nil
	})
	if err != nil {
		return homeEntry{}, 0, err // redis.Nil when the key is missing
	}
	e, err := decodeHome(get.Val())
	return e, ttl.Val(), err
}

// refreshHomeEarly rebuilds in the background for an XFetch draw; with
// coalesce on, draws that overlap share one rebuild.
func (a *app) refreshHomeEarly() {
	ctx, cancel := context.WithTimeout(context.Background(), homeRebuildTimeout)
	defer cancel()
	if a.prot.On(protCoalesce) {
		_, _, _ = a.homeFlight.Do(homeKey, func() (any, error) { return a.rebuildHome(ctx) })
		return
	}
	_, _ = a.rebuildHome(ctx)
}

// rebuildLimits are the request limits with the rebuild's own statement
// timeout (a configured one: the rebuild is a heavier query class).
func (a *app) rebuildLimits() db.Limits {
	lim := a.limits()
	if lim.Statement > 0 {
		lim.Statement = a.settings.get(knob.HomeStmtTimeout)
	}
	return lim
}

// rebuildHome runs the expensive query and stores the page with its
// rebuild time; failures are counted by the pool and returned.
func (a *app) rebuildHome(ctx context.Context) (string, error) {
	a.count.homeRebuilds.Add(1)
	cost := a.settings.get(knob.RebuildCost)
	start := time.Now()
	var n, size int64
	err := a.readPool().Do(ctx, a.rebuildLimits(), func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, homeRebuildQuery, cost.Seconds()).Scan(&n, &size)
	})
	if err != nil {
		return "", err
	}
	e := homeEntry{delta: time.Since(start), payload: fmt.Sprintf("%d items, %d bytes", n, size)}
	ttl := a.settings.get(knob.HomeTTL)
	if a.prot.On(protTTLJitter) {
		ttl = cache.TTL(ttl, a.settings.get(knob.TTLJitter))
	}
	if err := a.rdb.Set(ctx, homeKey, e.encode(), ttl).Err(); err != nil {
		a.count.redisSetErrors.Add(1)
	}
	return e.payload, nil
}
