package experiments

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// Phase names a window of a run.
type Phase string

const (
	Baseline Phase = "baseline"
	Faulted  Phase = "fault"
	Recovery Phase = "recovery"
)

// Sample is one reading of the API's counters and gauges.
type Sample struct {
	At     time.Duration      // since load start
	Values map[string]float64 // flattened /admin/stats, e.g. "db_queries.primary"
	Text   map[string]string  // string gauges, e.g. "breaker.state"
}

// Run is the history of one run: traffic, samples, phase marks and facts
// from the audit. Traffic, faults and validation meet only here.
type Run struct {
	Experiment  string            `json:"-"`
	Variant     Variant           `json:"variant"`
	Level       Level             `json:"load"`
	Rate        float64           `json:"offered_rate"`
	Scale       float64           `json:"time_scale"`       // the report's, or above it (Experiment.MinScale)
	Broken      []string          `json:"broken,omitempty"` // protections forced off by --break
	Start       time.Time         `json:"started"`          // load start; offsets below are from here
	FaultAt     time.Duration     `json:"-"`                // Inject returned
	RecoverAt   time.Duration     `json:"-"`                // recovery began (BeforeRecover, then Recover)
	RecoveredAt time.Duration     `json:"-"`                // recovered: Recover, the fault settled, AfterRecover, the fence lifted
	End         time.Duration     `json:"-"`
	Timeline    *loadgen.Timeline `json:"-"`
	Samples     []Sample          `json:"-"`
	BoxLate     []time.Duration   `json:"-"`               // per second of the load: how late the runner woke (boxclock.go)
	Facts       *Facts            `json:"facts,omitempty"` // nil until the first SetFact
	Notes       []string          `json:"notes,omitempty"`
	Outcomes    []Outcome         `json:"checks"`
	Status      Status            `json:"status"`
	Err         string            `json:"error,omitempty"`
	Took        Took              `json:"took_seconds"` // where the run's wall time went
	// FirstAttempt is the attempt this run replaced when its baseline was
	// weak: kept so a replay never hides what happened the first time.
	FirstAttempt *Run `json:"first_attempt,omitempty"`

	// faultHit is when each request scheduled before the fault, and
	// failed after the fault had begun, was scheduled (offsets from
	// Start): the fault's doing, not the steady state's (overlap.go).
	faultHit overlap
}

// Took is the wall time of a run's steps, in seconds: what a run costs
// beyond its phases (make test's breakdown comes from here).
type Took struct {
	Prepare float64 `json:"prepare"` // services healthy, the last run drained, protections and state reset
	Play    float64 `json:"play"`    // the phases, then the load's in-flight requests and the audit
	Judge   float64 `json:"judge"`   // the checks and the final write
}

// MarshalJSON adds the phase marks, in seconds since load start, and the
// client's figures per phase.
func (r *Run) MarshalJSON() ([]byte, error) {
	type plain Run
	return json.Marshal(struct {
		*plain
		Marks  map[string]float64     `json:"marks_seconds"`
		Phases map[Phase]PhaseFigures `json:"phases,omitempty"`
	}{(*plain)(r), map[string]float64{
		"fault": r.FaultAt.Seconds(), "recover": r.RecoverAt.Seconds(),
		"recovered": r.RecoveredAt.Seconds(), "end": r.End.Seconds(),
	}, r.phaseFigures()})
}

// phaseFigures are the client's figures per phase, for summary.json.
func (r *Run) phaseFigures() map[Phase]PhaseFigures {
	out := map[Phase]PhaseFigures{}
	for _, p := range []Phase{Baseline, Faulted, Recovery} {
		if s, err := r.Client(p); err == nil {
			out[p] = phaseFigures(s)
		}
	}
	return out
}

// Window returns the whole seconds [from, to) of a phase. Seconds where a
// transition happened are left out so a window holds only one regime.
func (r *Run) Window(p Phase) (from, to time.Duration) {
	ceil := func(d time.Duration) time.Duration { return (d + time.Second - 1).Truncate(time.Second) }
	switch p {
	case Baseline:
		// the first second warms connections; it is not the steady state
		return time.Second, r.FaultAt.Truncate(time.Second)
	case Faulted:
		return ceil(r.FaultAt), r.RecoverAt.Truncate(time.Second)
	default:
		return ceil(r.RecoveredAt), r.End.Truncate(time.Second)
	}
}

// Client summarises the client's view of a phase for the given ops.
func (r *Run) Client(p Phase, ops ...string) (loadgen.Summary, error) {
	from, to := r.Window(p)
	if to <= from || r.Timeline == nil {
		return loadgen.Summary{}, fmt.Errorf("%s window is empty", p)
	}
	s := r.Timeline.Window(from, to, ops...)
	if s.Completed == 0 {
		return s, fmt.Errorf("no request completed in the %s window", p)
	}
	return s, nil
}

// CounterRate is the mean per-second increase of a monotonic counter over
// a phase, from the samples closest to the window's ends.
func (r *Run) CounterRate(p Phase, key string) (float64, error) {
	from, to := r.Window(p)
	return r.CounterRateBetween(from, to, key)
}

// CounterRateBetween is the mean per-second increase of a counter between
// two offsets of the run.
func (r *Run) CounterRateBetween(from, to time.Duration, key string) (float64, error) {
	a, okA := r.SampleAt(from)
	b, okB := r.SampleAt(to)
	if !okA || !okB || b.At <= a.At {
		return 0, fmt.Errorf("no %s samples between %.1fs and %.1fs", key, from.Seconds(), to.Seconds())
	}
	va, ok1 := a.Values[key]
	vb, ok2 := b.Values[key]
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("counter %s not reported", key)
	}
	return (vb - va) / (b.At - a.At).Seconds(), nil
}

// SampleAt is the sample nearest to t (within half a second).
func (r *Run) SampleAt(t time.Duration) (Sample, bool) {
	i := sort.Search(len(r.Samples), func(i int) bool { return r.Samples[i].At >= t })
	best, bestD := -1, time.Duration(math.MaxInt64)
	for _, j := range []int{i - 1, i} {
		if j < 0 || j >= len(r.Samples) {
			continue
		}
		d := r.Samples[j].At - t
		if d < 0 {
			d = -d
		}
		if d < bestD {
			best, bestD = j, d
		}
	}
	if best < 0 || bestD > 700*time.Millisecond {
		return Sample{}, false
	}
	return r.Samples[best], true
}

// Facts are the numbers a run's Prepare, fault and audit record for its
// checks: the one fact store of a run. Faults set them from their own
// goroutines.
type Facts struct {
	mu sync.Mutex
	m  map[string]float64
}

func newFacts() *Facts { return &Facts{m: map[string]float64{}} }

// MarshalJSON writes the facts as an object (summary.json).
func (f *Facts) MarshalJSON() ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return json.Marshal(f.m)
}

// Fact returns a fact stored by the run's Prepare, fault or audit.
func (r *Run) Fact(name string) (float64, error) {
	var v float64
	ok := false
	if f := r.Facts; f != nil {
		f.mu.Lock()
		v, ok = f.m[name]
		f.mu.Unlock()
	}
	if !ok {
		return 0, fmt.Errorf("fact %q was not recorded (audit did not run?)", name)
	}
	return v, nil
}

// SetFact records a fact for the checks. The runner makes each run's
// store before anything can write to it; a Run built by hand gets one on
// its first fact.
func (r *Run) SetFact(name string, v float64) {
	if r.Facts == nil {
		r.Facts = newFacts()
	}
	r.Facts.mu.Lock()
	defer r.Facts.mu.Unlock()
	r.Facts.m[name] = v
}

// baselineProblem says why the baseline is too weak to judge against, or "".
func (r *Run) baselineProblem() string {
	s, err := r.Client(Baseline)
	if err != nil {
		return err.Error()
	}
	// a request in flight when the fault began and failing after it is
	// the fault's: it says nothing about the steady state before it
	from, to := r.Window(Baseline)
	if hit := r.faultHit.within(from, to); s.Completed > 0 && hit > 0 {
		s.ErrorRate = max(0, s.ErrorRate-float64(hit)/float64(s.Completed))
		s.Achieved += float64(hit) / (to - from).Seconds()
	}
	if s.Rate > 0 && s.Achieved < 0.9*s.Rate {
		return fmt.Sprintf("achieved %.0f/s of %.0f/s offered before the fault%s", s.Achieved, s.Rate, r.worstBaselineSecond())
	}
	if s.ErrorRate > 0.01 {
		return fmt.Sprintf("%.1f%% errors before the fault%s", s.ErrorRate*100, r.worstBaselineSecond())
	}
	// a protection already degrading answers (a breaker tripped at the
	// start) is not the steady state the fault is measured against
	if s.DegradedRate > 0.01 {
		return fmt.Sprintf("%.1f%% degraded answers before the fault%s", s.DegradedRate*100, r.worstBaselineSecond())
	}
	return ""
}

// worstBaselineSecond describes the baseline second with the fewest OK
// answers, so a weak baseline says what went wrong, not only that it did.
func (r *Run) worstBaselineSecond() string {
	from, to := r.Window(Baseline)
	var worst loadgen.Summary
	at, found := time.Duration(0), false
	for t := from; t < to; t += time.Second {
		s := r.Timeline.Window(t, t+time.Second)
		if !found || s.OK < worst.OK {
			worst, at, found = s, t, true
		}
	}
	if !found {
		return ""
	}
	errs := make([]string, 0, len(worst.Errors))
	for _, k := range sortedKeys(worst.Errors) {
		errs = append(errs, fmt.Sprintf("%s %d", k, worst.Errors[k]))
	}
	if len(errs) == 0 {
		errs = append(errs, "none")
	}
	return fmt.Sprintf(" (worst second %.0fs: %d OK of %d offered, %d dropped, p99 %.0fms, errors: %s)",
		at.Seconds(), worst.OK, worst.Offered, worst.Dropped, float64(worst.P99.Microseconds())/1000, strings.Join(errs, ", "))
}

// RecoveryTime is how long after from (a mark of the run: RecoverAt or
// RecoveredAt) the client's error rate went back to at most maxErr and
// stayed there to the end of the run, in whole seconds of the timeline.
func (r *Run) RecoveryTime(from time.Duration, maxErr float64, ops ...string) (float64, error) {
	start := from.Truncate(time.Second)
	end := r.End.Truncate(time.Second)
	if end <= start || r.Timeline == nil {
		return 0, ErrNoData
	}
	good := end // first second of the final good streak
	for t := end - time.Second; t >= start; t -= time.Second {
		s := r.Timeline.Window(t, t+time.Second, ops...)
		if s.Completed == 0 || s.ErrorRate > maxErr {
			break
		}
		good = t
	}
	if good == end {
		seen := (end - from).Seconds()
		return 0, &Beyond{Value: seen, Why: fmt.Sprintf("error rate never fell to %.1f%% in the %.1fs observed after recovery", maxErr*100, seen)}
	}
	return max((good - from).Seconds(), 0), nil
}
