package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/services/internal/config"
)

// knob is a duration that starts from a flag and can be changed at runtime
// with PUT /admin/settings, because experiments scale timers in quick mode.
type knob struct {
	name   string // settings JSON key
	flag   string
	def    time.Duration
	lo, hi time.Duration
	whole  bool // must be whole seconds (goes into an HTTP header)
	help   string
}

// Knob names, as in PUT /admin/settings.
const (
	knobQueryCost       = "query_cost"
	knobRedisTTL        = "redis_ttl"
	knobTTLJitter       = "ttl_jitter"
	knobL1TTL           = "l1_ttl"
	knobBreakerCooldown = "breaker_cooldown"
	knobRetryAfter      = "retry_after"
	knobShedWait        = "shed_wait"
	knobShedWaitLate    = "shed_wait_late"
	knobRebuildCost     = "rebuild_cost"
	knobHomeTTL         = "home_ttl"
	knobCheckoutHold    = "checkout_hold"
	knobHotL1TTL        = "hot_l1_ttl"
)

var knobs = []knob{
	{name: knobQueryCost, flag: "query-cost", def: 20 * time.Millisecond, lo: 0, hi: 10 * time.Second,
		help: "each item read holds its DB connection this long (pg_sleep), so capacity = db-pool / query-cost"},
	{name: knobRedisTTL, flag: "redis-ttl", def: 60 * time.Second, lo: time.Millisecond, hi: 24 * time.Hour,
		help: "base TTL of Redis entries"},
	{name: knobTTLJitter, flag: "ttl-jitter", def: 30 * time.Second, lo: 0, hi: 24 * time.Hour,
		help: "random extra TTL in [0, jitter], applied only when ttl_jitter is on"},
	{name: knobL1TTL, flag: "l1-ttl", def: 2 * time.Second, lo: time.Millisecond, hi: 24 * time.Hour,
		help: "L1 entries are fresh this long, then stale (kept, served only when Redis and DB cannot answer)"},
	{name: knobBreakerCooldown, flag: "breaker-cooldown", def: 30 * time.Second, lo: time.Millisecond, hi: time.Hour,
		help: "circuit breaker open -> half-open after this"},
	{name: knobRetryAfter, flag: "retry-after", def: time.Second, lo: time.Second, hi: time.Hour, whole: true,
		help: "Retry-After sent with 503 when retry_after is on (whole seconds)"},
	{name: knobShedWait, flag: "shed-wait", def: 250 * time.Millisecond, lo: 0, hi: time.Minute,
		help: "with shed_early on, /quote sheds once its queue would take longer than this to drain"},
	{name: knobShedWaitLate, flag: "shed-wait-late", def: 2 * time.Second, lo: 0, hi: time.Hour,
		help: "with shed_early off, /quote sheds only once its queue would take longer than this to drain"},
	{name: knobRebuildCost, flag: "rebuild-cost", def: 100 * time.Millisecond, lo: 0, hi: 10 * time.Second,
		help: "the /home rebuild query holds its DB connection this long (pg_sleep)"},
	{name: knobHomeTTL, flag: "home-ttl", def: time.Minute, lo: time.Millisecond, hi: 24 * time.Hour,
		help: "Redis TTL of the /home entry (plus ttl_jitter when that is on)"},
	{name: knobCheckoutHold, flag: "checkout-hold", def: 20 * time.Millisecond, lo: 0, hi: 10 * time.Second,
		help: "a checkout holds its item's stock row lock this long, so one item sells at most 1/checkout-hold per second"},
	{name: knobHotL1TTL, flag: "hot-l1-ttl", def: time.Second, lo: time.Millisecond, hi: time.Hour,
		help: "hot_key_l1: a hot product's in-process copy is fresh this long; after that it is served stale while one read refreshes it"},
}

func (k knob) check(name string, d time.Duration) error {
	if k.whole {
		if err := config.WholeSeconds(name, d); err != nil {
			return err
		}
	}
	return config.DurationRange(name, d, k.lo, k.hi)
}

func knobByName(name string) (knob, bool) {
	for _, k := range knobs {
		if k.name == name {
			return k, true
		}
	}
	return knob{}, false
}

func knobNames() string {
	var n []string
	for _, k := range knobs {
		n = append(n, k.name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// knobValues maps knob name to value.
type knobValues map[string]time.Duration

// settings are the live knob values. Changes go through app.applySettings
// so that the components keeping their own copy (breaker, L1) follow.
type settings struct {
	mu sync.RWMutex
	v  knobValues
}

func (s *settings) get(name string) time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.v[name]
}

func (s *settings) snapshot() map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]string, len(s.v))
	for n, d := range s.v {
		out[n] = d.String()
	}
	return out
}

// seconds reports every knob as "<name>_seconds" for /admin/stats.
func (s *settings) seconds() map[string]float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]float64, len(s.v))
	for n, d := range s.v {
		out[n+"_seconds"] = d.Seconds()
	}
	return out
}

// parseSettings validates a partial update {"name":"duration",...}; nothing
// is applied unless every entry is valid.
func parseSettings(update map[string]string) (knobValues, error) {
	if len(update) == 0 {
		return nil, fmt.Errorf("no settings given; valid names: %s", knobNames())
	}
	out := knobValues{}
	for name, s := range update {
		k, ok := knobByName(name)
		if !ok {
			return nil, fmt.Errorf("unknown setting %q; valid names: %s", name, knobNames())
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want a duration such as \"250ms\" or \"3s\"", name, s)
		}
		if err := k.check(name, d); err != nil {
			return nil, err
		}
		out[name] = d
	}
	return out, nil
}
