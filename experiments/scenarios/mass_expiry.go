package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// The seed's coordinated mass expiry, measured by what it does to the
// database: jitterKeys item keys are written together (one warm call, each
// key with the API's TTL policy: redis_ttl, plus up to ttl_jitter when
// ttl_jitter is on), then read through the API, each once a second, while
// they expire. A read the API did not answer from Redis (its body names
// the database as the source, or it is degraded: the DB breaker turned it
// away) found its key gone: the
// database demand the expiry caused, whether or not the database served it.
// Each key counts once, at its first such read: a key refilled after it
// went re-expires within the run only because quick runs scale its TTL
// down to seconds.
const (
	massExpiryRate  = jitterKeys // reads/s: every key once a second
	massExpiryAfter = 2 * time.Second
	massExpiryGrace = 0.01 // share of reads allowed to fail before the audit judges nothing
)

// auditMassExpiry records mass_expiry.worst_second_share: the most keys
// first found gone by reads sent in one second, over jitterKeys.
func auditMassExpiry(ctx context.Context, e *Env, r *Run) error {
	base, jitter, err := expirySettings(r)
	if err != nil {
		return err
	}
	began := time.Now()
	if _, err := e.Admin().Warm(ctx, jitterKeys, false); err != nil {
		return fmt.Errorf("writing %d keys: %w", jitterKeys, err)
	}
	// The reader must be running before the first key can expire.
	if took := time.Since(began); took > base/2 {
		return fmt.Errorf("writing %d keys took %v, too close to their %v TTL to watch them expire", jitterKeys, took.Round(time.Millisecond), base)
	}
	window := base + jitter + massExpiryAfter
	seconds := int(window/time.Second) + 2
	gone := make([]atomic.Int64, seconds) // keys first found gone, by second
	seen := make([]atomic.Bool, jitterKeys)
	var misses atomic.Int64
	start := time.Now()
	items := &loadgen.HTTPOp{OpName: "expiring-item", Client: e.HTTP, KeepBody: true,
		URL: func(seq uint64) (string, string) { return fmt.Sprintf("%s/items/%d", e.APIURL, seq%jitterKeys+1), "" }}
	read := loadgen.FuncOp(items.OpName, func(ctx context.Context, seq uint64) loadgen.Result {
		sec := int(time.Since(start) / time.Second)
		res := items.Do(ctx, seq)
		if res.OK() && foundGone(res) && sec < seconds {
			misses.Add(1)
			if seen[seq%jitterKeys].CompareAndSwap(false, true) {
				gone[sec].Add(1)
			}
		}
		return res
	})
	tl, err := loadgen.Run(ctx, loadgen.Plan{
		Rate: loadgen.ConstantRate(massExpiryRate), Duration: window, MaxInFlight: 2 * massExpiryRate,
		Mix: []loadgen.Weighted{{Op: read, Weight: 1}}, Policy: loadgen.Policy{Timeout: 10 * time.Second},
	})
	if err != nil {
		return fmt.Errorf("reading the expiring keys: %w", err)
	}
	all := tl.Window(0, window)
	if all.Offered == 0 || float64(all.Offered-all.OK) > massExpiryGrace*float64(all.Offered) {
		return fmt.Errorf("reading the expiring keys: %d of %d reads failed or were dropped (errors %v, codes %v, dropped %d)",
			all.Offered-all.OK, all.Offered, all.Errors, all.Codes, all.Dropped)
	}
	worst, total := int64(0), int64(0)
	for i := range gone {
		n := gone[i].Load()
		worst, total = max(worst, n), total+n
	}
	if total < jitterKeys*9/10 {
		return fmt.Errorf("reads found only %d of the %d keys gone within %v: did they expire?", total, jitterKeys, window)
	}
	r.SetFact("mass_expiry.worst_second_share", float64(worst)/jitterKeys)
	r.SetFact("mass_expiry.keys_found_gone", float64(total))
	r.SetFact("mass_expiry.misses", float64(misses.Load()))
	r.SetFact("mass_expiry.window_seconds", window.Seconds())
	return nil
}

// expirySettings are the TTL base and jitter the API applied this run.
func expirySettings(r *Run) (base, jitter time.Duration, err error) {
	b, err := settingSeconds(r, "redis_ttl")
	if err != nil {
		return 0, 0, err
	}
	j, err := settingSeconds(r, "ttl_jitter")
	if err != nil {
		return 0, 0, err
	}
	if b <= 0 {
		return 0, 0, fmt.Errorf("the API reported redis_ttl %v s", b)
	}
	return time.Duration(b * float64(time.Second)), time.Duration(j * float64(time.Second)), nil
}

// foundGone says an item read was not answered from Redis: from the
// database (its body's source), or degraded by the DB breaker.
func foundGone(res loadgen.Result) bool {
	if res.Degraded {
		return true
	}
	var item struct{ Source string }
	return json.Unmarshal(res.Body, &item) == nil && item.Source != "redis"
}
