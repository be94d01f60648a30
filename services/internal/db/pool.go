// Package db wraps a pgx pool with the knobs the experiments switch at
// runtime (acquire timeout, statement timeout, connect timeout) and with the
// counters that make pool exhaustion visible.
package db

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrAcquireTimeout: no connection became free within Limits.Acquire.
var ErrAcquireTimeout = errors.New("timed out waiting for a database connection")

// ErrConnect: the pool had to open a connection and could not (refused,
// timed out, unreachable).
var ErrConnect = errors.New("could not open a database connection")

// Limits bound one database operation. Zero means unbounded: the caller
// waits for a connection and for the statement as long as its context lets
// it — the pile-up the seed's cascades describe.
type Limits struct {
	Acquire   time.Duration // longest wait for a pooled connection
	Statement time.Duration // server-side statement_timeout, and a client deadline
}

// clientGrace lets the server's statement_timeout fire first (which keeps
// the connection usable); the client deadline only matters when the server
// cannot answer at all, e.g. it is stopped.
const clientGrace = 50 * time.Millisecond

const stmtTimeoutKey = "whatif.statement_timeout"

// Pool is a pgx pool plus counters. Safe for concurrent use.
type Pool struct {
	name string
	p    *pgxpool.Pool

	waiting         atomic.Int64
	acquireNanos    atomic.Int64
	acquireTimeouts atomic.Int64
	queries         atomic.Int64
	requests        atomic.Int64 // calls that wanted a connection: the demand on the DB
	errors          atomic.Int64
	notReplicated   atomic.Int64
	held            serviceTime
}

// Open parses dsn and creates a pool of at most maxConns connections. It
// does not connect. connectTimeout is asked before every new connection so
// it can follow a runtime switch; 0 leaves pgxpool's default (2 minutes).
func Open(name, dsn string, maxConns int, connectTimeout func() time.Duration, opts ...Option) (*Pool, error) {
	if maxConns < 1 {
		return nil, fmt.Errorf("%s pool: max connections must be at least 1, got %d", name, maxConns)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%s pool: %w", name, err)
	}
	cfg.MaxConns = int32(maxConns)
	// Keep the pool full and checked: an acquire must not pay for a TCP +
	// startup handshake (with db_timeouts that alone can exceed the acquire
	// bound), and broken connections after a failover are replaced promptly.
	cfg.MinConns = int32(maxConns)
	cfg.HealthCheckPeriod = 500 * time.Millisecond
	cfg.ConnConfig.OnNotice = noteNotice
	// Each pool names its backends, so that pg_stat_activity shows which
	// server a pool's connections are on (db-failover awaits its reads on
	// the replica by this name).
	if _, set := cfg.ConnConfig.RuntimeParams["application_name"]; !set {
		cfg.ConnConfig.RuntimeParams["application_name"] = "whatif-" + name
	}
	for _, o := range opts {
		o(cfg)
	}
	if connectTimeout != nil {
		cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
			if d := connectTimeout(); d > 0 {
				cc.ConnectTimeout = d
			}
			return nil
		}
	}
	p, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("%s pool: %w", name, err)
	}
	return &Pool{name: name, p: p}, nil
}

// Option adjusts a pool's configuration.
type Option func(*pgxpool.Config)

// Lazy opens connections only when callers need them, up to the maximum,
// and closes them after 5 s idle: a pool that stands for "a connection per
// request", not a warm pool, and gives a spike's connections back.
func Lazy() Option {
	return func(c *pgxpool.Config) {
		c.MinConns = 0
		c.MaxConnIdleTime = 5 * time.Second
	}
}

// Lifetime closes each connection between d and 1.5 d after it opened, so a
// pool behind a load balancer follows its routing: after a failover the
// balancer sends new connections to the new replica, while open ones stay
// where they were. 0 keeps pgxpool's default (an hour).
func Lifetime(d time.Duration) Option {
	return func(c *pgxpool.Config) {
		if d > 0 {
			c.MaxConnLifetime = d
			c.MaxConnLifetimeJitter = d / 2
		}
	}
}

// SimpleProtocol sends queries without named prepared statements, which a
// pooler in transaction mode (PgBouncer) cannot keep per client.
func SimpleProtocol() Option {
	return func(c *pgxpool.Config) { c.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol }
}

// AsApp connects as AppRole instead of the DSN's user.
func AsApp() Option { return func(c *pgxpool.Config) { c.ConnConfig.User = AppRole } }

// Name is the pool's label ("primary", "replica").
func (p *Pool) Name() string { return p.name }

// Max is the most connections the pool holds.
func (p *Pool) Max() int { return int(p.p.Config().MaxConns) }

// ServiceTime is the learned time a call holds a connection (see
// serviceTime); 0 until a call has run.
func (p *Pool) ServiceTime() time.Duration { return p.held.get() }

// ForgetServiceTime drops what the pool learned, for a run that starts
// afresh (POST /admin/reset).
func (p *Pool) ForgetServiceTime() { p.held.reset() }

// Ping checks that a connection can be made and used.
func (p *Pool) Ping(ctx context.Context) error { return p.p.Ping(ctx) }

// Reset closes every idle connection now and the others when released.
func (p *Pool) Reset() { p.p.Reset() }

// Close closes every connection.
func (p *Pool) Close() { p.p.Close() }

// Do runs fn on one pooled connection within lim. Every failure, including a
// timed-out acquire, is counted as an error of this pool; a statement is
// counted as a query once it is sent.
func (p *Pool) Do(ctx context.Context, lim Limits, fn func(ctx context.Context, c *pgx.Conn) error) error {
	err := p.do(ctx, lim, fn)
	if err != nil {
		p.errors.Add(1)
	}
	return err
}

func (p *Pool) do(ctx context.Context, lim Limits, fn func(ctx context.Context, c *pgx.Conn) error) error {
	p.requests.Add(1)
	conn, err := p.acquire(ctx, lim.Acquire)
	if err != nil {
		return err
	}
	held := time.Now()
	defer func() {
		p.held.observe(time.Since(held))
		conn.Release()
	}()
	qctx := ctx
	if lim.Statement > 0 {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, lim.Statement+clientGrace)
		defer cancel()
	}
	if err := setStatementTimeout(qctx, conn.Conn(), lim.Statement); err != nil {
		return fmt.Errorf("%s: set statement_timeout: %w", p.name, err)
	}
	p.queries.Add(1)
	err = fn(qctx, conn.Conn())
	unconfirmed := takeSyncWaitCancel(conn.Conn()) // taken on every path: the mark must not outlive this call
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	if unconfirmed {
		p.notReplicated.Add(1)
		return fmt.Errorf("%s: %w", p.name, ErrNotReplicated)
	}
	return nil
}

func (p *Pool) acquire(ctx context.Context, timeout time.Duration) (*pgxpool.Conn, error) {
	actx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	p.waiting.Add(1)
	start := time.Now()
	conn, err := p.p.Acquire(actx)
	p.acquireNanos.Add(int64(time.Since(start)))
	p.waiting.Add(-1)
	if err == nil {
		return conn, nil
	}
	if ctx.Err() == nil && actx.Err() != nil {
		p.acquireTimeouts.Add(1)
		return nil, fmt.Errorf("%s: %w (%v)", p.name, ErrAcquireTimeout, timeout)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: acquire connection: %w", p.name, err)
	}
	return nil, fmt.Errorf("%s: %w: %w", p.name, ErrConnect, err)
}

// setStatementTimeout makes the session's statement_timeout match d,
// remembering the value per connection so the extra round trip is paid only
// when the setting changes, not per query.
func setStatementTimeout(ctx context.Context, c *pgx.Conn, d time.Duration) error {
	want := d.Milliseconds()
	if d > 0 && want == 0 {
		want = 1 // 0 would mean "no timeout" to Postgres
	}
	data := c.PgConn().CustomData()
	if have, _ := data[stmtTimeoutKey].(int64); have == want {
		return nil
	}
	if _, err := c.Exec(ctx, fmt.Sprintf("SET statement_timeout = %d", want)); err != nil {
		return err
	}
	data[stmtTimeoutKey] = want
	return nil
}

// Stats are the pool's gauges and monotonic counters.
type Stats struct {
	Max                int32   `json:"max"`
	InUse              int32   `json:"in_use"`
	Open               int32   `json:"open"`    // connections open or being opened
	Waiting            int64   `json:"waiting"` // callers blocked in acquire right now
	AcquireWaits       int64   `json:"acquire_waits"`
	AcquireWaitSeconds float64 `json:"acquire_wait_seconds"`
	AcquireTimeouts    int64   `json:"acquire_timeouts"`
	NotReplicated      int64   `json:"not_replicated"`  // commits the standby did not confirm (ErrNotReplicated)
	ServiceSeconds     float64 `json:"service_seconds"` // learned connection hold time per call
	Queries            int64   `json:"-"`
	Requests           int64   `json:"-"`
	Errors             int64   `json:"-"`
}

// Stats samples the pool. AcquireWaits counts acquires that found no idle
// connection (those that then got one, plus those cancelled or timed out);
// AcquireWaitSeconds is the total time spent in acquire by all callers.
func (p *Pool) Stats() Stats {
	s := p.p.Stat()
	return Stats{
		Max:                s.MaxConns(),
		InUse:              s.AcquiredConns(),
		Open:               s.TotalConns(),
		Waiting:            p.waiting.Load(),
		AcquireWaits:       s.EmptyAcquireCount() + s.CanceledAcquireCount(),
		AcquireWaitSeconds: time.Duration(p.acquireNanos.Load()).Seconds(),
		AcquireTimeouts:    p.acquireTimeouts.Load(),
		NotReplicated:      p.notReplicated.Load(),
		ServiceSeconds:     p.held.get().Seconds(),
		Queries:            p.queries.Load(),
		Requests:           p.requests.Load(),
		Errors:             p.errors.Load(),
	}
}

// Serial runs every query of the pool without parallel workers: a bulkhead
// for heavy reports must bound their CPU as well as their connections, or
// one sequential scan takes every core of the machine it runs on.
func Serial() Option {
	return func(c *pgxpool.Config) { c.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] = "0" }
}
