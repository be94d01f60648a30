package experiments

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// Measures shared by scenarios. Each reads the run's history only.

// ErrorRate is the client's error rate (degraded answers excluded) in a
// phase, explained by the error classes and final codes behind it.
func ErrorRate(p Phase, ops ...string) Explained {
	return func(r *Run) (float64, string, error) {
		s, err := r.Client(p, ops...)
		why := ""
		if err == nil && s.ErrorRate > 0 {
			why = failureMix(s)
		}
		return s.ErrorRate, why, err
	}
}

// failureMix names what the failed requests ended with, e.g.
// "errors: http5xx 7, timeout 1 of 312; final codes: 503 7".
func failureMix(s loadgen.Summary) string {
	var errs, codes []string
	for _, k := range slices.Sorted(maps.Keys(s.Errors)) {
		errs = append(errs, fmt.Sprintf("%s %d", k, s.Errors[k]))
	}
	for _, c := range slices.Sorted(maps.Keys(s.Codes)) {
		if c < 200 || c >= 300 {
			codes = append(codes, fmt.Sprintf("%d %d", c, s.Codes[c]))
		}
	}
	out := fmt.Sprintf("errors: %s of %d", strings.Join(errs, ", "), s.Completed)
	if len(codes) > 0 {
		out += "; final codes: " + strings.Join(codes, ", ")
	}
	return out
}

// DegradedRate is the share of the client's answers in a phase that were
// degraded (X-Degraded: 1): served, but not what was asked for.
func DegradedRate(p Phase, ops ...string) Measure {
	return func(r *Run) (float64, error) {
		s, err := r.Client(p, ops...)
		return s.DegradedRate, err
	}
}

// P99 is the client's 99th percentile latency in a phase, in seconds.
func P99(p Phase, ops ...string) Measure {
	return func(r *Run) (float64, error) {
		s, err := r.Client(p, ops...)
		return s.P99.Seconds(), err
	}
}

// Rate is the mean per-second increase of an API counter in a phase.
func Rate(p Phase, key string) Measure {
	return func(r *Run) (float64, error) { return r.CounterRate(p, key) }
}

// Ratio divides two measures; a zero denominator is no data, not infinity.
func RatioOf(num, den Measure) Measure {
	return func(r *Run) (float64, error) {
		a, err := num(r)
		if err != nil {
			return 0, err
		}
		b, err := den(r)
		if err != nil {
			return 0, err
		}
		if b <= 0 {
			return 0, fmt.Errorf("denominator is %.3g: nothing to compare against", b)
		}
		return a / b, nil
	}
}

// RateAfterRecovery is the mean per-second increase of an API counter in
// the first d after recovery: where a thundering herd would show.
func RateAfterRecovery(key string, d time.Duration) Measure {
	return func(r *Run) (float64, error) {
		from := r.RecoveredAt.Round(time.Second)
		return r.CounterRateBetween(from, from+d, key)
	}
}

// Share is the fraction sum(parts)/sum(total) of API counter increases in a phase.
func Share(p Phase, parts []string, total []string) Measure {
	sum := func(r *Run, keys []string) (float64, error) {
		t := 0.0
		for _, k := range keys {
			v, err := r.CounterRate(p, k)
			if err != nil {
				return 0, err
			}
			t += v
		}
		return t, nil
	}
	return func(r *Run) (float64, error) {
		a, err := sum(r, parts)
		if err != nil {
			return 0, err
		}
		b, err := sum(r, total)
		if err != nil {
			return 0, err
		}
		if b <= 0 {
			return 0, fmt.Errorf("no traffic counted in the %s window", p)
		}
		return a / b, nil
	}
}

// Fact reads a number recorded by the audit.
func Fact(name string) Measure {
	return func(r *Run) (float64, error) { return r.Fact(name) }
}

// RecoveredWithin is the time after Recover until errors stay <= maxErr.
func RecoveredWithin(maxErr float64, ops ...string) Measure {
	return func(r *Run) (float64, error) { return r.RecoveryTime(r.RecoverAt, maxErr, ops...) }
}

// BackAfterFix is the time after the fault's recovery has landed (Recover
// returned and the fault settled, e.g. a rebuilt index replayed on the
// replica) until errors stay <= maxErr: how long the system takes to use
// the fix, without the time the fix itself took on a busy box.
func BackAfterFix(maxErr float64, ops ...string) Measure {
	return func(r *Run) (float64, error) { return r.RecoveryTime(r.RecoveredAt, maxErr, ops...) }
}

// CalmP99 is P99 over the phase's seconds in which the box did not stall
// (boxclock.go): for a latency bound that sits within a box stall of the
// baseline. A phase that stalled in more than a quarter of its seconds has
// too little left to judge.
func CalmP99(p Phase, ops ...string) Measure {
	return func(r *Run) (float64, error) {
		from, to := r.Window(p)
		if to <= from || r.Timeline == nil {
			return 0, fmt.Errorf("%s window is empty", p)
		}
		s := r.Timeline.WindowWithout(from, to, stalledSeconds(r.BoxLate), ops...)
		if all := int((to - from) / time.Second); s.Skipped*4 > all {
			return 0, fmt.Errorf("the box stalled around %d of the %s window's %d seconds: too few left to judge", s.Skipped, p, all)
		}
		if s.Completed == 0 {
			return 0, fmt.Errorf("no request completed in the %s window's calm seconds", p)
		}
		return s.P99.Seconds(), nil
	}
}
