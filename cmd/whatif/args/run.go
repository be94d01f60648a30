package args

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/scenarios"
)

// Run is a `whatif run` or `whatif ablate` invocation, validated.
type Run struct {
	X       experiments.Experiment
	O       experiments.Options
	Stack   *Stack
	Results string // report root
}

// experimentFlags are the flags `whatif run` and `whatif ablate` share.
type experimentFlags struct {
	quick   *bool
	load    *string
	results *string
	set     *string
	stack   *Stack
}

func addExperimentFlags(fs *flag.FlagSet) *experimentFlags {
	return &experimentFlags{
		quick:   fs.Bool("quick", false, "shrink phases and seed timers"),
		load:    fs.String("load", "both", "normal|peak|both"),
		results: fs.String("results", "results", "report root"),
		set:     fs.String("set", "", "override API knobs at full scale, e.g. query_cost=40ms,breaker_cooldown=10s (see services/api/README.md)"),
		stack:   addStack(fs),
	}
}

// parse reads the command line and checks the shared flags: the
// experiment, the stack, the loads (nil: both) and the report root.
func (ef *experimentFlags) parse(fs *flag.FlagSet, argv []string) (Run, []experiments.Level, error) {
	name, err := withName(fs, argv)
	if err != nil {
		return Run{}, nil, err
	}
	if err := ef.stack.Validate(); err != nil {
		return Run{}, nil, err
	}
	x, err := scenarios.Lookup(name)
	if err != nil {
		return Run{}, nil, err
	}
	if *ef.results == "" {
		return Run{}, nil, fmt.Errorf("--results: want a directory")
	}
	o := experiments.Options{Console: os.Stdout, Scale: 1, Seed: time.Now().UnixNano()}
	if *ef.quick {
		o.Scale = experiments.QuickScale
	}
	if IsSet(fs, "set") {
		if o.Settings, err = experiments.ParseSet(*ef.set); err != nil {
			return Run{}, nil, fmt.Errorf("--set: %w", err)
		}
	}
	var ls []experiments.Level
	switch *ef.load {
	case "both":
	case "normal", "peak":
		ls = []experiments.Level{experiments.Level(*ef.load)}
	default:
		return Run{}, nil, fmt.Errorf("--load %q: want normal, peak or both", *ef.load)
	}
	return Run{X: x, O: o, Stack: ef.stack, Results: *ef.results}, ls, nil
}

// ParseRun checks every flag of `whatif run` before anything starts: bad
// input gets exit code 2 and a clear line, never a stack.
func ParseRun(argv []string) (Run, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	ef := addExperimentFlags(fs)
	variant := fs.String("variant", "both", "unprotected|protected|both")
	runs := fs.String("runs", "", "the runs to play as variant/load pairs, e.g. unprotected/peak,protected/normal (instead of --load and --variant)")
	brk := fs.String("break", "", "comma-separated protections to switch off in the protected run")
	ra, ls, err := ef.parse(fs, argv)
	if err != nil {
		return Run{}, err
	}
	var vs []experiments.Variant
	switch *variant {
	case "both":
	case "unprotected", "protected":
		vs = []experiments.Variant{experiments.Variant(*variant)}
	default:
		return Run{}, fmt.Errorf("--variant %q: want unprotected, protected or both", *variant)
	}
	ra.O.Runs = experiments.Matrix(vs, ls)
	if IsSet(fs, "runs") {
		if IsSet(fs, "load") || IsSet(fs, "variant") {
			return Run{}, fmt.Errorf("--runs names each run's variant and load: drop --load and --variant")
		}
		if ra.O.Runs, err = experiments.ParseCells(*runs); err != nil {
			return Run{}, fmt.Errorf("--runs: %w", err)
		}
	}
	if *brk != "" {
		ra.O.Break = strings.Split(*brk, ",")
	}
	if err := ra.X.CheckBreak(ra.O.Break); err != nil {
		return Run{}, err
	}
	if err := experiments.CheckSettings(ra.X, ra.O); err != nil {
		return Run{}, fmt.Errorf("--set: %w", err)
	}
	if len(ra.O.Break) > 0 && !slices.ContainsFunc(ra.O.Runs, func(c experiments.Cell) bool { return c.Variant == experiments.Protected }) {
		return Run{}, fmt.Errorf("--break switches protections off in protected runs, and no protected run is asked for")
	}
	return ra, nil
}

// ParseAblate checks every flag of `whatif ablate` before anything starts.
func ParseAblate(argv []string) (Run, error) {
	fs := flag.NewFlagSet("ablate", flag.ContinueOnError)
	ra, ls, err := addExperimentFlags(fs).parse(fs, argv)
	if err != nil {
		return Run{}, err
	}
	if len(ra.X.Protections()) == 0 {
		return Run{}, fmt.Errorf("%s claims no protection: nothing to ablate", ra.X.Name)
	}
	ra.O.Runs = experiments.Matrix([]experiments.Variant{experiments.Protected}, ls)
	if err := experiments.CheckSettings(ra.X, ra.O); err != nil {
		return Run{}, fmt.Errorf("--set: %w", err)
	}
	return ra, nil
}
