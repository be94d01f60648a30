package loadgen

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// RetryMode says whether and how a failed attempt is retried.
type RetryMode int

const (
	RetryNone      RetryMode = iota // one attempt only
	RetryImmediate                  // retry at once (the retry-storm baseline)
	RetryBackoff                    // exponential backoff from BaseBackoff, capped at MaxBackoff
)

func (m RetryMode) String() string {
	switch m {
	case RetryNone:
		return "none"
	case RetryImmediate:
		return "immediate"
	case RetryBackoff:
		return "backoff"
	}
	return fmt.Sprintf("RetryMode(%d)", int(m))
}

// DefaultTimeout applies when Policy.Timeout is zero, so that a hung server
// can never keep a run from ending.
const DefaultTimeout = 10 * time.Second

// Policy is the client behaviour around one logical request. The zero value
// is valid: one attempt with DefaultTimeout.
type Policy struct {
	Timeout     time.Duration // per attempt; 0 = DefaultTimeout
	Retry       RetryMode
	MaxAttempts int // including the first; required (>= 1) when Retry != RetryNone, ignored otherwise
	BaseBackoff time.Duration
	MaxBackoff  time.Duration // 0 = uncapped (MaxAttempts still bounds it)
	Jitter      bool          // full jitter: wait uniformly in [0, backoff]; a honoured Retry-After RA becomes [RA, 1.5 RA]
	// HonourRetryAfter makes a server's Retry-After a lower bound on the wait.
	HonourRetryAfter bool
	// RetryBudget caps retries at this fraction of first attempts over a
	// sliding one-second window; 0 = unlimited.
	RetryBudget float64
	// Deadline caps one logical request, retries and waits included, counted
	// from its first send; 0 = none. A retry whose wait would end past the
	// deadline is not made.
	Deadline time.Duration
}

// Validate reports every nonsensical setting at once.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("loadgen: policy: "+format, args...)) }
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Timeout", p.Timeout}, {"BaseBackoff", p.BaseBackoff}, {"MaxBackoff", p.MaxBackoff}, {"Deadline", p.Deadline}} {
		if d.v < 0 {
			bad("%s is negative (%v)", d.name, d.v)
		}
	}
	switch p.Retry {
	case RetryNone:
	case RetryImmediate, RetryBackoff:
		if p.MaxAttempts < 1 {
			bad("Retry %v needs MaxAttempts >= 1, got %d", p.Retry, p.MaxAttempts)
		}
	default:
		bad("unknown Retry mode %d", int(p.Retry))
	}
	if p.MaxAttempts < 0 {
		bad("MaxAttempts is negative (%d)", p.MaxAttempts)
	}
	if p.Retry == RetryBackoff {
		if p.BaseBackoff <= 0 {
			bad("Retry backoff needs BaseBackoff > 0")
		}
		if p.MaxBackoff > 0 && p.MaxBackoff < p.BaseBackoff {
			bad("MaxBackoff %v is below BaseBackoff %v", p.MaxBackoff, p.BaseBackoff)
		}
	}
	if p.RetryBudget < 0 || math.IsNaN(p.RetryBudget) || math.IsInf(p.RetryBudget, 0) {
		bad("RetryBudget must be a finite fraction >= 0, got %v", p.RetryBudget)
	}
	return errors.Join(errs...)
}

func (p Policy) maxAttempts() int {
	if p.Retry == RetryNone || p.MaxAttempts < 1 {
		return 1
	}
	return p.MaxAttempts
}

func (p Policy) attemptTimeout() time.Duration {
	if p.Timeout == 0 {
		return DefaultTimeout
	}
	return p.Timeout
}

// backoff is the wait after failed attempt n (1-based) before attempt n+1.
func (p Policy) backoff(n int, retryAfter time.Duration) time.Duration {
	var d time.Duration
	if p.Retry == RetryBackoff {
		d = p.BaseBackoff
		for i := 1; i < n && (p.MaxBackoff == 0 || d < p.MaxBackoff) && d < math.MaxInt64/2; i++ {
			d *= 2
		}
		if p.MaxBackoff > 0 && d > p.MaxBackoff {
			d = p.MaxBackoff
		}
		if p.Jitter {
			d = time.Duration(rand.Int64N(int64(d) + 1))
		}
	}
	if p.HonourRetryAfter && retryAfter > d {
		d = retryAfter
		if p.Jitter {
			// Every client shed in the same second got the same Retry-After:
			// spread their retries over the next half of it, never earlier.
			d += time.Duration(rand.Int64N(int64(retryAfter/2) + 1))
		}
	}
	return d
}
