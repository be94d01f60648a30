package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/breaker"
	"github.com/whatif-lab/whatif/services/internal/cache"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/ratelimit"
)

// newApp builds the app from validated flags without touching the network.
func newApp(f flags) (*app, error) {
	prot, err := newProtections(f.protections)
	if err != nil {
		return nil, err
	}
	a := &app{prot: prot, token: f.adminToken, exportCap: f.exportCap, stateFile: f.stateFile, boot: time.Now()}
	if a.exports, err = newExportCache(f.exportCache); err != nil {
		return nil, err
	}
	a.l1, err = cache.NewL1[int64, string](f.l1Size, f.knobs[knob.L1TTL], nil)
	if err != nil {
		return nil, err
	}
	newBreaker := func() *breaker.Breaker {
		return breaker.New(breaker.Config{
			Window: time.Second, MinCalls: 10, FailureRatio: 0.5,
			SlowCall: f.knobs[knob.BreakerSlowCall], Cooldown: f.knobs[knob.BreakerCooldown],
		}, nil)
	}
	a.breaker, a.reportBreaker = newBreaker(), newBreaker()
	if f.redisCluster != "" {
		seeds, err := parseClusterSeeds(f.redisCluster)
		if err != nil {
			return nil, err
		}
		l1, err := cache.NewL1[int64, string](1000, f.knobs[knob.HotL1TTL], nil)
		if err != nil {
			return nil, err
		}
		a.products = &products{c: newCluster(seeds, f.redisPool), hot: newHotKeys(f.hotKeyRate, 10_000), l1: l1, perNode: f.hotKeyCopies}
	}
	a.applySettings(f.knobs)
	if f.stateFile != "" {
		if err := a.loadState(f.stateFile); err != nil {
			return nil, err
		}
	}

	ropts, err := cache.RedisOptions(f.redis, f.redisPool)
	if err != nil {
		return nil, err
	}
	a.rdb = redis.NewClient(ropts)
	if a.primary, err = db.Open("primary", f.pgPrimary, f.dbPool, a.dbConnectTimeout); err != nil {
		return nil, err
	}
	if f.pgReplica != "" {
		if a.replica, err = db.Open("replica", f.pgReplica, f.dbPool, a.dbConnectTimeout, db.Lifetime(f.replicaLife)); err != nil {
			return nil, err
		}
		if a.reports, err = db.Open("reports", f.pgReplica, f.reportPool, a.dbConnectTimeout, db.Serial()); err != nil {
			return nil, err
		}
	}
	if f.pgDirect != "" {
		if a.direct, err = db.Open("direct", f.pgDirect, f.dbPool, a.dbConnectTimeout); err != nil {
			return nil, err
		}
	}
	// The BFF's connections to /quote: enough idle ones that a burst does
	// not become a storm of new TCP connections.
	a.internal = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, IdleConnTimeout: 90 * time.Second}}
	if a.unpooled, err = db.Open("unpooled", f.pgPrimary, f.checkoutConns, a.dbConnectTimeout, db.Lazy(), db.AsApp()); err != nil {
		return nil, err
	}
	if f.pgBouncer != "" {
		if a.bouncer, err = db.Open("bouncer", f.pgBouncer, f.checkoutConns, a.dbConnectTimeout, db.Lazy(), db.SimpleProtocol()); err != nil {
			return nil, err
		}
	}
	if a.limiter, err = ratelimit.New(f.clientRate, f.clientBurst, 100_000); err != nil {
		return nil, err
	}
	a.checkoutGate = newPriorityGate(f.checkoutSlots)
	a.shedWaitLow, a.shedWaitHigh = f.shedWaitLow, f.shedWaitHigh
	if f.broker != "" {
		a.queue = newCheckoutQueue(f.broker, f.checkoutWork)
	}
	a.registerMetrics()
	return a, nil
}

func (a *app) close() {
	if a.queue != nil {
		a.queue.close()
	}
	for _, p := range a.pools() {
		p.Close()
	}
	_ = a.rdb.Close()
	if a.products != nil {
		_ = a.products.c.rdb.Close()
	}
}

// waitReady retries until the primary is migrated and seeded, Redis answers
// and the replica (if any) answers, or the timeout passes. It returns how
// many items it seeded.
func (a *app) waitReady(ctx context.Context, timeout time.Duration, items int) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var seeded int64
	steps := []struct {
		what string
		do   func(context.Context) error
	}{
		{"postgres primary (schema + seed)", func(ctx context.Context) (err error) {
			seeded, err = db.Migrate(ctx, a.primary, items)
			return err
		}},
		{"redis", func(ctx context.Context) error { return a.rdb.Ping(ctx).Err() }},
	}
	if a.products != nil {
		steps = append(steps, struct {
			what string
			do   func(context.Context) error
		}{"redis cluster (every master, slot map)", a.products.c.ready})
	}
	if a.replica != nil {
		steps = append(steps, struct {
			what string
			do   func(context.Context) error
		}{"postgres replica", a.replica.Ping})
	}
	for _, s := range steps {
		if err := retry(ctx, s.do); err != nil {
			return seeded, fmt.Errorf("%s not ready after %v: %w", s.what, timeout, err)
		}
	}
	return seeded, nil
}

// retry calls f every 200ms until it succeeds or ctx ends; it returns the
// last error from f, which says more than "deadline exceeded".
func retry(ctx context.Context, f func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}
