// Package experiments is the runner and its types: an Experiment is one
// literal (the scenarios are in experiments/scenarios), Execute plays it
// as the matrix {unprotected, protected} × {normal, peak} against a Stack,
// and each Run's history (run.go) is judged by the experiment's checks
// (check.go, measures.go); report.go and console.go show the result.
// Operator clients (the API's admin endpoints, Patroni, Postgres and
// Redis connections) are in experiments/operator.
package experiments

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/loadgen"
)

// Variant says whether the seed's mitigation is switched on.
type Variant string

const (
	Unprotected Variant = "unprotected" // mitigation off: the cascade must happen
	Protected   Variant = "protected"   // mitigation on: SLOs must hold
)

// Level is the offered load of a run.
type Level string

const (
	Normal Level = "normal"
	Peak   Level = "peak" // PeakFactor × normal (10× by default)
)

// Experiment is one scenario of the seed, as data.
type Experiment struct {
	Name     string // CLI name, e.g. "redis-crash"
	Title    string
	Scenario int    // row of the seed
	Shows    string // one paragraph: what the run demonstrates

	Load Load
	// Mitigation lists the protections switched off in the unprotected
	// variant; every other protection stays on in both variants.
	Mitigation []string
	// Off lists protections switched off in both variants, so a variant of
	// an experiment can show what one mitigation does alone.
	Off []string
	// RunnerProtections are mitigations the runner itself applies (client
	// retries, cache warming), switched like the API's: listed in Mitigation
	// they are off in the unprotected run, and --break can name them.
	RunnerProtections []string
	// Settings are runtime knobs sent to the API before each run
	// (PUT /admin/settings); durations among them are scaled by the time
	// scale when their name is listed in ScaledSettings.
	Settings       map[string]string
	ScaledSettings []string
	// Services are the services the experiment drives or breaks; the stack
	// starts those, the API, the Instances and what they need
	// (compose.Topology.Select), nothing else.
	Services []string
	// Requires are what the stack must offer beyond its Controller;
	// checked before the matrix starts.
	Requires []compose.Capability
	// Instances are further API processes (topology services running the
	// api binary, e.g. the app instances behind the load balancer): each
	// gets the run's protections, settings and reset like the API, and its
	// stats are sampled under "<service>." (e.g. "app0.mem.usage_bytes").
	Instances []string
	// Workers are worker-pool services (services/worker, the API's admin
	// interface): the runner drives each as it drives the API — the
	// protections and knobs it knows, a reset before each run — and samples
	// its stats under "<service>." (e.g. "worker.groups.notify.lag.seconds").
	Workers []string
	// APIArgs are flags added to every API process of the experiment's
	// stack (e.g. a larger --db-pool); the API rejects bad ones at start.
	APIArgs []string

	Phases Phases
	// MinScale is the smallest time scale the experiment's checks keep
	// their statistics at, at normal load (0: none). A check on a p99
	// needs enough requests in a phase, and shrinking the phases shrinks
	// that count with them; a run offering k times the normal rate has
	// them in 1/k of the time, so its floor is MinScale/k (ScaleFor).
	MinScale float64
	// Fault builds the fault for one run. Recover of the fault is the
	// seed's recovery procedure for the infrastructure (e.g. restart Redis).
	Fault func(e *Env) chaos.Fault
	// Prepare runs after protections are set and before load starts: it
	// brings the system to the scenario's steady state. Nil = nothing.
	Prepare func(ctx context.Context, e *Env) error
	// Fence and AfterRecover are the seed's recovery steps that belong to
	// the application, not to the fault. Fence is held over the fault's
	// recovery: injected before Recover, recovered after AfterRecover (a
	// restarted cache stays out of the API's reach until it is warm); nil,
	// or a nil fault, means none. AfterRecover runs once the fault is
	// recovered (warm the cache). Nil means nothing to do.
	Fence        func(e *Env) (chaos.Fault, error)
	AfterRecover func(ctx context.Context, e *Env) error
	// Audit runs after the load has stopped, and stores facts the checks
	// read (e.g. orders lost or duplicated). Nil means no audit.
	Audit func(ctx context.Context, e *Env, r *Run) error

	// Watch lists API counters shown as per-second rates on the console,
	// and Gauges API gauges shown as they are.
	Watch, Gauges []string

	Cascade []Check // must hold in every UNPROTECTED run
	Holds   []Check // must hold in every PROTECTED run
}

// Load describes the traffic of a run.
type Load struct {
	Rate        float64 // requests per second at normal load
	PeakFactor  float64 // peak = Rate × PeakFactor; 0 means 10
	MaxInFlight int     // bounded connections of the client; 0 means 256
	// Ops returns the weighted op mix for a run; ops are built per run so
	// they can close over the run's environment (e.g. a recorder).
	Ops func(e *Env) []loadgen.Weighted
	// Policy is the client policy of a run (retries, backoff, budget);
	// client-side mitigations read e.On.
	Policy func(e *Env) loadgen.Policy
}

// Phases are full-scale durations; quick mode multiplies them by its scale.
type Phases struct {
	Baseline, Fault, Recovery time.Duration
}

func (l Load) peakFactor() float64 {
	if l.PeakFactor == 0 {
		return 10
	}
	return l.PeakFactor
}

// InFlightLimit is the client's bound on requests in flight (connections).
func (l Load) InFlightLimit() int {
	if l.MaxInFlight == 0 {
		return 256
	}
	return l.MaxInFlight
}

// RateFor is the offered rate of a run at the given level.
func (l Load) RateFor(lv Level) float64 {
	if lv == Peak {
		return l.Rate * l.peakFactor()
	}
	return l.Rate
}

// Validate catches literals that cannot run, so a bad registry entry fails
// loudly at start-up instead of midway through a matrix.
func (x Experiment) Validate() error {
	switch {
	case x.Name == "":
		return fmt.Errorf("experiment without a name")
	case x.Fault == nil:
		return fmt.Errorf("experiment %s: no fault", x.Name)
	case x.Load.Ops == nil || x.Load.Rate <= 0:
		return fmt.Errorf("experiment %s: no load", x.Name)
	case len(x.Cascade) == 0 || len(x.Holds) == 0:
		return fmt.Errorf("experiment %s: needs Cascade and Holds checks", x.Name)
	case x.Phases.Baseline <= 0 || x.Phases.Fault <= 0 || x.Phases.Recovery <= 0:
		return fmt.Errorf("experiment %s: every phase needs a positive duration", x.Name)
	case x.MinScale < 0 || x.MinScale > 1:
		return fmt.Errorf("experiment %s: MinScale %g is outside [0, 1]", x.Name, x.MinScale)
	}
	return nil
}

// ScaleFor is the time scale a run at level lv plays at when asked for s
// (s <= 0 is full scale): never below its floor (MinScale over the
// level's rate factor), never above 1.
func (x Experiment) ScaleFor(s float64, lv Level) float64 {
	if s <= 0 {
		s = 1
	}
	floor := x.MinScale
	if r := x.Load.RateFor(lv); r > 0 {
		floor *= x.Load.RateFor(Normal) / r
	}
	return min(max(s, floor), 1)
}

// Needs is every service the experiment names: its Services, the API and
// the API instances, sorted.
// Part is the experiment's stack: what it needs and its API flags.
func (x Experiment) Part() compose.Part {
	return compose.Part{Only: x.Needs(), APIArgs: x.APIArgs}
}

func (x Experiment) Needs() []string {
	all := slices.Concat([]string{compose.SvcAPI}, x.Services, x.Instances, x.Workers)
	slices.Sort(all)
	return slices.Compact(all)
}

// Protections are the mitigations the experiment claims: those its
// unprotected run switches off, minus those off in both runs. --break may
// name only these.
func (x Experiment) Protections() []string {
	var out []string
	for _, p := range x.Mitigation {
		if !slices.Contains(x.Off, p) {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckBreak rejects a --break list naming anything but the experiment's
// own protections, before any work starts.
func (x Experiment) CheckBreak(names []string) error {
	own := x.Protections()
	for _, p := range names {
		if !slices.Contains(own, p) {
			return fmt.Errorf("--break %q: not a protection of %s (its protections: %s)", p, x.Name, strings.Join(own, ", "))
		}
	}
	return nil
}

// SwitchedOff is every protection a run of this variant switches off, sorted:
// Off always, the Mitigation when unprotected, the --break list when
// protected.
func (x Experiment) SwitchedOff(v Variant, broken []string) []string {
	off := broken
	if v == Unprotected {
		off = x.Mitigation
	}
	all := slices.Concat(x.Off, off)
	slices.Sort(all)
	return slices.Compact(all)
}
