// Package knob is the API's runtime settings: durations that start from a
// flag and change with PUT /admin/settings (experiments scale timers in
// quick mode). The runner checks a --set against the same table before any
// stack starts.
package knob

import (
	"time"

	"github.com/whatif-lab/whatif/services/internal/knobs"
)

// Knob is one setting (the shared shape of every service's settings).
type Knob = knobs.Knob

// Values maps knob name to value.
type Values = knobs.Values

// Names, as in PUT /admin/settings.
const (
	QueryCost       = "query_cost"
	RedisTTL        = "redis_ttl"
	TTLJitter       = "ttl_jitter"
	L1TTL           = "l1_ttl"
	BreakerCooldown = "breaker_cooldown"
	RetryAfter      = "retry_after"
	ShedWait        = "shed_wait"
	ShedWaitLate    = "shed_wait_late"
	RebuildCost     = "rebuild_cost"
	HomeTTL         = "home_ttl"
	CheckoutHold    = "checkout_hold"
	HotL1TTL        = "hot_l1_ttl"
	AcquireTimeout  = "db_acquire_timeout"
	StmtTimeout     = "db_statement_timeout"
	HomeStmtTimeout = "home_statement_timeout"
	BreakerSlowCall = "breaker_slow_call"
)

// All is every knob.
var All = knobs.Table{
	{Name: QueryCost, Flag: "query-cost", Def: 20 * time.Millisecond, Lo: 0, Hi: 10 * time.Second,
		Help: "each item read holds its DB connection this long (pg_sleep), so capacity = db-pool / query-cost"},
	{Name: RedisTTL, Flag: "redis-ttl", Def: 60 * time.Second, Lo: time.Millisecond, Hi: 24 * time.Hour,
		Help: "base TTL of Redis entries"},
	{Name: TTLJitter, Flag: "ttl-jitter", Def: 30 * time.Second, Lo: 0, Hi: 24 * time.Hour,
		Help: "random extra TTL in [0, jitter], applied only when ttl_jitter is on"},
	{Name: L1TTL, Flag: "l1-ttl", Def: 2 * time.Second, Lo: time.Millisecond, Hi: 24 * time.Hour,
		Help: "L1 entries are fresh this long, then stale (kept, served only when Redis and DB cannot answer)"},
	{Name: BreakerCooldown, Flag: "breaker-cooldown", Def: 30 * time.Second, Lo: time.Millisecond, Hi: time.Hour,
		Help: "circuit breaker open -> half-open after this"},
	{Name: RetryAfter, Flag: "retry-after", Def: time.Second, Lo: time.Second, Hi: time.Hour, Whole: true,
		Help: "Retry-After sent with 503 when retry_after is on (whole seconds; shed quotes get at least this)"},
	{Name: ShedWait, Flag: "shed-wait", Def: 250 * time.Millisecond, Lo: 0, Hi: time.Minute,
		Help: "with shed_early on, /quote sheds once its queue would take longer than this to drain"},
	{Name: ShedWaitLate, Flag: "shed-wait-late", Def: 2 * time.Second, Lo: 0, Hi: time.Hour,
		Help: "with shed_early off, /quote sheds only once its queue would take longer than this to drain"},
	{Name: RebuildCost, Flag: "rebuild-cost", Def: 100 * time.Millisecond, Lo: 0, Hi: 10 * time.Second,
		Help: "the /home rebuild query holds its DB connection this long (pg_sleep)"},
	{Name: HomeTTL, Flag: "home-ttl", Def: time.Minute, Lo: time.Millisecond, Hi: 24 * time.Hour,
		Help: "Redis TTL of the /home entry (plus ttl_jitter when that is on)"},
	{Name: CheckoutHold, Flag: "checkout-hold", Def: 20 * time.Millisecond, Lo: 0, Hi: 10 * time.Second,
		Help: "a checkout holds its item's stock row lock this long, so one item sells at most 1/checkout-hold per second"},
	{Name: HotL1TTL, Flag: "hot-l1-ttl", Def: time.Second, Lo: time.Millisecond, Hi: time.Hour,
		Help: "hot_key_l1: a hot product's in-process copy is fresh this long; after that it is served stale while one read refreshes it"},
	// The API's latency objectives for the database. They are configured,
	// as statement_timeout is in production, and never derived from
	// query_cost: a protection must not know the cost of the work it guards.
	{Name: AcquireTimeout, Flag: "db-acquire-timeout", Def: 40 * time.Millisecond, Lo: time.Millisecond, Hi: time.Minute,
		Help: "with db_timeouts on, a request waits at most this long for a pooled DB connection, then fails fast"},
	{Name: StmtTimeout, Flag: "db-statement-timeout", Def: 200 * time.Millisecond, Lo: time.Millisecond, Hi: time.Hour,
		Help: "with db_timeouts on, Postgres cancels a statement after this long (statement_timeout)"},
	{Name: HomeStmtTimeout, Flag: "home-statement-timeout", Def: 300 * time.Millisecond, Lo: time.Millisecond, Hi: time.Hour,
		Help: "with db_timeouts on, the statement_timeout of the /home rebuild, a heavier query than an item read"},
	{Name: BreakerSlowCall, Flag: "breaker-slow-call", Def: 100 * time.Millisecond, Lo: time.Millisecond, Hi: time.Minute,
		Help: "the circuit breaker counts a DB call slower than this as failed"},
}

// ByName finds a knob.
func ByName(name string) (Knob, bool) { return All.ByName(name) }

// Names lists every knob's name, sorted.
func Names() string { return All.Names() }

// Parse validates a partial update {"name":"duration",...}; nothing
// is applied unless every entry is valid.
func Parse(update map[string]string) (Values, error) { return All.Parse(update) }
