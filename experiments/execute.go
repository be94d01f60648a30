package experiments

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/internal/clock"
	"github.com/whatif-lab/whatif/loadgen"
	"github.com/whatif-lab/whatif/services/api/knob"
	workerknob "github.com/whatif-lab/whatif/services/worker/knob"
)

// Options control one invocation of an experiment.
type Options struct {
	Scale float64  // time scale; 1 = full, QuickScale for --quick
	Runs  []Cell   // the cells to play, in this order; default the whole Matrix
	Break []string // protections forced off in protected runs (proves checks can fail)
	// Settings override API knobs over the experiment's own (--set), at
	// full scale: a scaled knob shrinks with the phases as the
	// experiment's own value would.
	Settings map[string]string
	Console  io.Writer // live per-second lines; nil = silent
	Seed     int64
}

// QuickScale shrinks every phase and seed timer for CI and workshops.
const QuickScale = 0.25

// Report is the outcome of one experiment invocation.
type Report struct {
	Experiment string    `json:"experiment"`
	Title      string    `json:"title"`
	Scenario   int       `json:"scenario"`
	Scale      float64   `json:"time_scale"`
	Started    time.Time `json:"started"`
	Wall       float64   `json:"wall_seconds"`
	Verdict    Status    `json:"verdict"`
	Runs       []*Run    `json:"runs"`
	Replays    int       `json:"replays"`       // runs played twice because the first baseline was weak
	Watch      []string  `json:"watch"`         // the API counters the experiment watches (charted as rates)
	Gauges     []string  `json:"gauges"`        // and its gauges
	Set        []string  `json:"set,omitempty"` // knobs the operator overrode (--set), name=value
}

// Execute plays the experiment's matrix against a running stack.
func Execute(ctx context.Context, x Experiment, st Stack, o Options) (*Report, error) {
	m, err := newMatrix(ctx, x, st, o)
	if err != nil {
		return nil, err
	}
	if m.o.Console != nil {
		for _, lv := range levelsOf(m.o.Runs) {
			if s := x.ScaleFor(m.o.Scale, lv); s != m.o.Scale {
				fmt.Fprintf(m.o.Console, "%s plays its %s-load runs at time scale %.2g, not %.2g: their checks need the requests of longer phases (MinScale)\n", x.Name, lv, s, m.o.Scale)
			}
		}
	}
	rep := m.report()
	for _, c := range m.o.Runs {
		rep.Runs = append(rep.Runs, m.judged(ctx, c, m.o.Break))
		if ctx.Err() != nil {
			break
		}
	}
	return rep.done(), ctx.Err()
}

// newMatrix checks the experiment against itself, the options and the
// running stack before any run: a stale name or a missing service fails
// here, not mid-run.
func newMatrix(ctx context.Context, x Experiment, st Stack, o Options) (*matrix, error) {
	if err := x.Validate(); err != nil {
		return nil, err
	}
	if err := x.CheckBreak(o.Break); err != nil {
		return nil, err
	}
	if o.Scale <= 0 || o.Scale > 1 {
		o.Scale = 1
	}
	if len(o.Runs) == 0 {
		o.Runs = Matrix(nil, nil)
	}
	if err := CheckSettings(x, o); err != nil {
		return nil, err
	}
	if err := st.Capabilities().Check(x.Requires); err != nil {
		return nil, fmt.Errorf("%s: %w", x.Name, err)
	}
	running := st.Services()
	for _, svc := range x.Needs() {
		if !slices.Contains(running, svc) {
			return nil, fmt.Errorf("experiment %s needs service %q, which this stack does not run (it runs: %s)", x.Name, svc, strings.Join(running, ", "))
		}
	}
	admin := operator.NewAPI("http://"+st.ClientAddr(compose.SvcAPI, "main"), st.AdminToken())
	apiKnown, err := admin.Protections(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the API's protections: %w", err)
	}
	known := maps.Clone(apiKnown)
	workers := map[string]*operator.API{}
	workerKnown := map[string]map[string]bool{}
	for _, svc := range x.Workers {
		w := operator.NewAPI("http://"+st.ClientAddr(svc, "main"), st.AdminToken())
		workers[svc] = w
		ps, err := w.Protections(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading %s's protections: %w", svc, err)
		}
		workerKnown[svc] = ps
		maps.Copy(known, ps)
	}
	for _, p := range x.RunnerProtections {
		known[p] = true
	}
	// the experiment's own lists against what the system has: a stale
	// name in the registry fails here, before any run
	for _, p := range slices.Concat(x.Mitigation, x.Off) {
		if _, ok := known[p]; !ok {
			return nil, fmt.Errorf("experiment %s names protection %q, which neither its services nor the runner have (they have: %s)", x.Name, p, strings.Join(sortedKeys(known), ", "))
		}
	}
	return &matrix{x: x, st: st, admin: admin, workers: workers, known: known, apiKnown: apiKnown, workerKnown: workerKnown, o: o}, nil
}

func (m *matrix) report() *Report {
	return &Report{Experiment: m.x.Name, Title: m.x.Title, Scenario: m.x.Scenario, Scale: m.o.Scale, Started: time.Now(),
		Watch: m.x.Watch, Gauges: m.x.Gauges, Set: overridden(m.o.Settings)}
}

// done stamps the wall time and folds the runs into the verdict.
func (rep *Report) done() *Report {
	rep.Wall = time.Since(rep.Started).Seconds()
	rep.Verdict = Pass
	for _, r := range rep.Runs {
		if r.FirstAttempt != nil {
			rep.Replays++
		}
		switch r.Status {
		case Fail:
			rep.Verdict = Fail
		case Unknown:
			if rep.Verdict == Pass {
				rep.Verdict = Unknown
			}
		}
	}
	return rep
}

// judged plays one cell, once more if its baseline was weak.
func (m *matrix) judged(ctx context.Context, c Cell, broken []string) *Run {
	r := m.run(ctx, c.Variant, c.Level, broken)
	if weak := r.baselineProblem(); weak != "" && r.Timeline != nil && ctx.Err() == nil {
		// The baseline is the yardstick, not the thing under test: a
		// run whose yardstick broke is played once more, and says so.
		// A second weak baseline stays Unknown.
		if m.o.Console != nil {
			fmt.Fprintf(m.o.Console, "%s: weak baseline, playing the run once more: %s\n", c, weak)
		}
		first := r
		r = m.run(ctx, c.Variant, c.Level, broken)
		r.Notes = append(r.Notes, "second attempt: the first one's baseline was weak: "+weak)
		r.FirstAttempt = first
	}
	return r
}

// matrix is what every run of one invocation shares.
type matrix struct {
	x       Experiment
	st      Stack
	admin   *operator.API
	workers map[string]*operator.API // by service
	known   map[string]bool          // protections of the API, the workers and the runner
	// apiKnown and workerKnown are each service's own: it is sent only those
	apiKnown    map[string]bool
	workerKnown map[string]map[string]bool
	o           Options
}

// run plays one cell of the matrix and judges it.
func (m *matrix) run(ctx context.Context, v Variant, lv Level, broken []string) *Run {
	x, st, admin, o := m.x, m.st, m.admin, m.o
	r := &Run{Experiment: x.Name, Variant: v, Level: lv, Rate: x.Load.RateFor(lv), Scale: x.ScaleFor(o.Scale, lv), Facts: newFacts()}
	env := &Env{
		Stack: st, Topology: st.Topology(), APIURL: admin.Base(), Variant: v, Level: lv, Scale: r.Scale,
		Toxi: chaos.NewToxiproxy(st.ToxiproxyURL()), Ledger: newLedger(), Run: r, admin: admin,
		HTTP: loadgen.NewHTTPClient(x.Load.InFlightLimit()), instances: map[string]*operator.API{},
		workers: m.workers,
	}
	if t := st.ToxiproxyTarpit(); t != "" {
		env.Toxi.WithTarpit(t)
	}
	for _, svc := range x.Instances {
		env.instances[svc] = operator.NewAPI("http://"+st.ClientAddr(svc, "main"), st.AdminToken())
	}
	defer env.HTTP.CloseIdleConnections() // the next run starts without this run's connections
	defer env.closeAll()
	if v == Protected {
		r.Broken = broken
	}
	began := time.Now()
	step := func(d *float64) { now := time.Now(); *d = now.Sub(began).Seconds(); began = now }
	if err := m.prepare(ctx, env); err != nil {
		r.Err, r.Status = "prepare: "+err.Error(), Unknown
		return r
	}
	step(&r.Took.Prepare)
	err := m.play(ctx, env)
	if err != nil {
		r.Err = err.Error()
	}
	step(&r.Took.Play)
	defer step(&r.Took.Judge)
	checks := x.Holds
	if v == Unprotected {
		checks = x.Cascade
	}
	r.Outcomes = judge(r, checks)
	r.Outcomes = append(r.Outcomes, finalWrite(ctx, env))
	r.Status = Overall(r.Outcomes)
	if err != nil && r.Status == Pass {
		r.Status = Unknown // a run that went wrong proves nothing
	}
	return r
}

// prepare puts the system in the run's starting state: no toxic, every
// service up, caches and breaker reset, protections set for the variant.
func (m *matrix) prepare(ctx context.Context, env *Env) error {
	x, known, broken, scale := m.x, m.known, env.Run.Broken, env.Scale
	if err := env.Toxi.ResetAll(ctx); err != nil {
		return fmt.Errorf("clearing toxics: %w", err)
	}
	// Every service up and healthy (Start on a running service only waits
	// for its health): a run never inherits the last run's broken cluster.
	for _, svc := range env.Stack.Services() {
		if svc == compose.SvcToxiproxy {
			continue
		}
		if err := env.Stack.Controller().Start(ctx, svc); err != nil {
			return fmt.Errorf("%s not healthy before the run: %w", svc, err)
		}
	}
	for _, a := range env.apis() {
		if err := awaitQuiet(ctx, a, quietWithin); err != nil {
			return err
		}
	}
	env.on = map[string]bool{}
	for p := range known {
		env.on[p] = true
	}
	for _, p := range x.SwitchedOff(env.Variant, broken) {
		env.on[p] = false
	}
	// each service gets the switches it has
	switches := func(own map[string]bool) map[string]bool {
		out := map[string]bool{}
		for p := range own {
			out[p] = env.on[p]
		}
		return out
	}
	for _, a := range env.apis() {
		if err := a.SetProtections(ctx, switches(m.apiKnown)); err != nil {
			return err
		}
	}
	set, err := runSettings(x, m.o.Settings, scale)
	if err != nil {
		return err
	}
	for _, a := range env.apis() {
		if err := a.Settings(ctx, knobsOf(set, knob.All)); err != nil {
			return err
		}
		if err := a.Reset(ctx); err != nil {
			return err
		}
	}
	for _, svc := range sortedKeys(env.workers) {
		w := env.workers[svc]
		if err := w.SetProtections(ctx, switches(m.workerKnown[svc])); err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
		if err := w.Settings(ctx, knobsOf(set, workerknob.All)); err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
		if err := w.Reset(ctx); err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
	}
	if x.Prepare != nil {
		return x.Prepare(ctx, env)
	}
	return nil
}

// quietWithin bounds the wait for the previous run's requests to drain:
// a run must not start with the last one's pile-up still in the API.
const quietWithin = 60 * time.Second

func awaitQuiet(ctx context.Context, a *operator.API, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		nums, _, err := a.Stats(ctx)
		if err == nil && nums["in_flight"] == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return fmt.Errorf("API not answering after the previous run: %w", err)
			}
			return fmt.Errorf("API still has %.0f requests in flight after %s", nums["in_flight"], within)
		}
		if !wait(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
}

func scaleDur(d time.Duration, s float64) time.Duration {
	return time.Duration(float64(d) * s).Round(time.Millisecond)
}

// play drives load, the fault and the sampler on one clock.
func (m *matrix) play(ctx context.Context, env *Env) error {
	x, r, o := m.x, env.Run, m.o
	base, fault, recov := scaleDur(x.Phases.Baseline, env.Scale), scaleDur(x.Phases.Fault, env.Scale), scaleDur(x.Phases.Recovery, env.Scale)
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	con := newConsole(o.Console, r, x)
	mix := x.Load.Ops(env)
	env.mixOps = make([]string, len(mix))
	for i, w := range mix {
		env.mixOps[i] = w.Op.Name()
	}
	plan := loadgen.Plan{
		Rate:           func(time.Duration) float64 { return env.offeredRate(r.Rate) },
		Weights:        env.mixWeights,
		UntilCancelled: true, // stopped by the runner once the recovery window has been observed
		MaxInFlight:    x.Load.InFlightLimit(),
		Mix:            mix,
		Seed:           o.Seed,
		OnResult: func(res loadgen.Result) {
			env.Ledger.observe(res)
			con.result(res)
			r.faultHit.result(res, r.Start)
		},
		OnSecond: con.second,
	}
	if x.Load.Policy != nil {
		plan.Policy = x.Load.Policy(env)
	}
	start := time.Now()
	r.Start = start
	since := func() time.Duration { return time.Since(start) }
	var wg sync.WaitGroup
	var tl *loadgen.Timeline
	var loadErr error
	wg.Add(3)
	go func() { defer wg.Done(); tl, loadErr = loadgen.Run(loadCtx, plan) }()
	go func() { defer wg.Done(); r.BoxLate = watchBox(loadCtx, start) }()
	sampled := maps.Clone(env.instances)
	maps.Copy(sampled, env.workers)
	sampler := &sampler{admin: env.admin, instances: sampled, start: start}
	go func() { defer wg.Done(); r.Samples = sampler.run(loadCtx, con) }()

	f := x.Fault(env)
	g := chaos.NewGuard(f)
	defer g.Close(context.WithoutCancel(ctx))
	var errs []error
	con.phase(Baseline)
	if wait(ctx, base-since()) {
		r.faultHit.faultBegins(since())
		if err := g.Inject(ctx); err != nil {
			errs = append(errs, fmt.Errorf("inject %s: %w", g.Name(), err))
		}
		r.FaultAt = since()
		con.phase(Faulted)
		wait(ctx, r.FaultAt+fault-since())
		r.RecoverAt = since()
		con.phase(Recovery)
		fence, err := m.fence(ctx, env)
		if err != nil {
			errs = append(errs, err)
		}
		if fence != nil {
			defer fence.Close(context.WithoutCancel(ctx))
		}
		if err := g.Recover(ctx); err != nil {
			errs = append(errs, fmt.Errorf("recover %s: %w", g.Name(), err))
		} else if s, ok := f.(chaos.Settling); ok {
			// the fault never waits: awaiting its recovery is the runner's step
			if err := s.Settled(ctx); err != nil {
				errs = append(errs, fmt.Errorf("after recovering %s: %w", g.Name(), err))
			}
		}
		if x.AfterRecover != nil {
			if err := x.AfterRecover(ctx, env); err != nil {
				errs = append(errs, fmt.Errorf("after recover: %w", err))
			}
		}
		if fence != nil {
			if err := fence.Recover(ctx); err != nil {
				errs = append(errs, fmt.Errorf("lifting %s: %w", fence.Name(), err))
			}
		}
		r.RecoveredAt = since()
		wait(ctx, r.RecoveredAt+recov-since())
	}
	r.End = since()
	stopLoad()
	wg.Wait()
	r.Timeline = tl
	if n := boxNote(r.BoxLate); n != "" {
		r.Notes = append(r.Notes, n)
	}
	if tl != nil {
		con.phases(r)
	}
	if loadErr != nil && !errors.Is(loadErr, context.Canceled) {
		errs = append(errs, fmt.Errorf("load: %w", loadErr))
	}
	if x.Audit != nil && ctx.Err() == nil {
		if err := x.Audit(ctx, env, r); err != nil {
			errs = append(errs, fmt.Errorf("audit: %w", err))
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// fence injects the experiment's recovery fence, if it has one; the
// returned guard (nil without a fence) always recovers it on Close.
func (m *matrix) fence(ctx context.Context, env *Env) (*chaos.Guard, error) {
	if m.x.Fence == nil {
		return nil, nil
	}
	f, err := m.x.Fence(env)
	if err != nil || f == nil {
		return nil, err
	}
	g := chaos.NewGuard(f)
	if err := g.Inject(ctx); err != nil {
		return g, fmt.Errorf("fence %s: %w", g.Name(), err)
	}
	return g, nil
}

// wait sleeps d (the runner owns time: phases are durations by design) and
// reports whether the context is still alive.
func wait(ctx context.Context, d time.Duration) bool { return clock.Sleep(ctx, d) }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
