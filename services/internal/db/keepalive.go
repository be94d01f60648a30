package db

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// A warm pool checks its idle connections itself, in the background,
// instead of pgxpool's ping on acquire. That ping ran inside the caller's
// acquire bound: a pool whose sessions HAProxy had cut (it moves reads
// back to a replica that came up by shutting the leader's sessions) or
// whose server was briefly slow to answer spent the bound on the ping and
// on reconnecting, and a request that found a free connection failed with
// an acquire timeout (slow-query's report pool, 20 of them in its first
// 50 ms, enough to open the report breaker).
const (
	keepaliveEvery = 500 * time.Millisecond
	keepaliveIdle  = time.Second // a connection unused this long is pinged
	keepaliveWait  = time.Second // a ping that takes longer closes the connection
)

const lastUsedKey = "whatif.last_used"

// noPing turns off pgxpool's ping on acquire.
func noPing(context.Context, pgxpool.ShouldPingParams) bool { return false }

// keepalive runs until ctx ends; done is closed when it has returned.
func (p *Pool) keepalive(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(keepaliveEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.checkIdle(ctx)
		}
	}
}

// checkIdle pings, at once, every idle connection unused for keepaliveIdle
// and hands the others straight back. A connection whose ping fails is
// closed, so the pool drops it on release and opens another to keep its
// minimum.
func (p *Pool) checkIdle(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range p.p.AcquireAllIdle(ctx) {
		data := c.Conn().PgConn().CustomData()
		used, _ := data[lastUsedKey].(time.Time)
		if time.Since(used) < keepaliveIdle {
			c.Release()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, keepaliveWait)
			err := c.Conn().Ping(pctx)
			cancel()
			if err != nil {
				if ctx.Err() == nil {
					p.keepaliveClosed.Add(1)
				}
				_ = c.Conn().Close(context.WithoutCancel(ctx))
			} else {
				data[lastUsedKey] = time.Now()
			}
			c.Release()
		}()
	}
	wg.Wait()
}

// markUsed stamps a connection a caller has just used.
func markUsed(c *pgxpool.Conn) { c.Conn().PgConn().CustomData()[lastUsedKey] = time.Now() }
