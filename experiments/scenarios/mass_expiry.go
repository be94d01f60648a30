package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// The seed's coordinated mass expiry, measured by what it does to the
// database: jitterKeys item keys are written together (one warm call, each
// key with the API's TTL policy: redis_ttl, plus up to ttl_jitter when
// ttl_jitter is on), then read through the API, each once a second, while
// they expire. A read the API did not answer from Redis (X-Source db, or
// degraded when the DB breaker turned it away) found its key gone: the
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
	read := loadgen.FuncOp("expiring-item", func(ctx context.Context, seq uint64) loadgen.Result {
		sec := int(time.Since(start) / time.Second)
		key := seq % jitterKeys
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/items/%d", e.APIURL, key+1), nil)
		if err != nil {
			return loadgen.Result{Err: err.Error(), ErrClass: loadgen.ClassOther}
		}
		resp, err := e.HTTP.Do(req)
		if err != nil {
			return loadgen.Result{Err: err.Error(), ErrClass: loadgen.Classify(err, 0)}
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && resp.Header.Get("X-Source") != "redis" && sec < seconds {
			misses.Add(1)
			if seen[key].CompareAndSwap(false, true) {
				gone[sec].Add(1)
			}
		}
		return loadgen.Result{Code: resp.StatusCode, ErrClass: loadgen.Classify(nil, resp.StatusCode)}
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

// expirySettings are the TTL base and jitter the API applied this run, as
// its stats report them.
func expirySettings(r *Run) (base, jitter time.Duration, err error) {
	if len(r.Samples) == 0 {
		return 0, 0, ErrNoData
	}
	v := r.Samples[0].Values
	base = time.Duration(v["settings.redis_ttl_seconds"] * float64(time.Second))
	jitter = time.Duration(v["settings.ttl_jitter_seconds"] * float64(time.Second))
	if base <= 0 {
		return 0, 0, fmt.Errorf("the API reported no redis_ttl setting")
	}
	return base, jitter, nil
}
