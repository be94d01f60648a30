package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/scenarios"
)

// runArgs is a `whatif run` invocation, validated.
type runArgs struct {
	x       experiments.Experiment
	o       experiments.Options
	sf      *stackFlags
	results string
}

// experimentFlags are the flags `whatif run` and `whatif ablate` share.
type experimentFlags struct {
	quick   *bool
	load    *string
	results *string
	set     *string
	sf      *stackFlags
}

func addExperimentFlags(fs *flag.FlagSet) *experimentFlags {
	return &experimentFlags{
		quick:   fs.Bool("quick", false, "shrink phases and seed timers"),
		load:    fs.String("load", "both", "normal|peak|both"),
		results: fs.String("results", "results", "report root"),
		set:     fs.String("set", "", "override API knobs at full scale, e.g. query_cost=40ms,breaker_cooldown=10s (see services/api/README.md)"),
		sf:      addStackFlags(fs),
	}
}

// parse reads the command line and checks the shared flags: the
// experiment, the stack, the loads (nil: both) and the report root.
func (ef *experimentFlags) parse(fs *flag.FlagSet, args []string) (runArgs, []experiments.Level, error) {
	name, err := parseWithName(fs, args)
	if err != nil {
		return runArgs{}, nil, err
	}
	if err := ef.sf.validate(); err != nil {
		return runArgs{}, nil, err
	}
	x, err := scenarios.Lookup(name)
	if err != nil {
		return runArgs{}, nil, err
	}
	if *ef.results == "" {
		return runArgs{}, nil, fmt.Errorf("--results: want a directory")
	}
	o := experiments.Options{Console: os.Stdout, Scale: 1, Seed: time.Now().UnixNano()}
	if *ef.quick {
		o.Scale = experiments.QuickScale
	}
	if flagSet(fs, "set") {
		if o.Settings, err = experiments.ParseSet(*ef.set); err != nil {
			return runArgs{}, nil, fmt.Errorf("--set: %w", err)
		}
	}
	if err := experiments.CheckSettings(x, o); err != nil {
		return runArgs{}, nil, fmt.Errorf("--set: %w", err)
	}
	var ls []experiments.Level
	switch *ef.load {
	case "both":
	case "normal", "peak":
		ls = []experiments.Level{experiments.Level(*ef.load)}
	default:
		return runArgs{}, nil, fmt.Errorf("--load %q: want normal, peak or both", *ef.load)
	}
	return runArgs{x: x, o: o, sf: ef.sf, results: *ef.results}, ls, nil
}

// parseRun checks every flag of `whatif run` before anything starts: bad
// input gets exit code 2 and a clear line, never a stack.
func parseRun(args []string) (runArgs, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	ef := addExperimentFlags(fs)
	variant := fs.String("variant", "both", "unprotected|protected|both")
	runs := fs.String("runs", "", "the runs to play as variant/load pairs, e.g. unprotected/peak,protected/normal (instead of --load and --variant)")
	brk := fs.String("break", "", "comma-separated protections to switch off in the protected run")
	ra, ls, err := ef.parse(fs, args)
	if err != nil {
		return runArgs{}, err
	}
	var vs []experiments.Variant
	switch *variant {
	case "both":
	case "unprotected", "protected":
		vs = []experiments.Variant{experiments.Variant(*variant)}
	default:
		return runArgs{}, fmt.Errorf("--variant %q: want unprotected, protected or both", *variant)
	}
	ra.o.Runs = experiments.Matrix(vs, ls)
	if flagSet(fs, "runs") {
		if flagSet(fs, "load") || flagSet(fs, "variant") {
			return runArgs{}, fmt.Errorf("--runs names each run's variant and load: drop --load and --variant")
		}
		if ra.o.Runs, err = experiments.ParseCells(*runs); err != nil {
			return runArgs{}, fmt.Errorf("--runs: %w", err)
		}
	}
	if *brk != "" {
		ra.o.Break = strings.Split(*brk, ",")
	}
	if err := ra.x.CheckBreak(ra.o.Break); err != nil {
		return runArgs{}, err
	}
	if len(ra.o.Break) > 0 && !slices.ContainsFunc(ra.o.Runs, func(c experiments.Cell) bool { return c.Variant == experiments.Protected }) {
		return runArgs{}, fmt.Errorf("--break switches protections off in protected runs, and no protected run is asked for")
	}
	return ra, nil
}

func cmdRun(ctx context.Context, args []string) (int, error) {
	ra, err := parseRun(args)
	if err != nil {
		return 2, err
	}
	st, err := ra.startStack(ctx)
	if err != nil {
		return 1, err
	}
	defer st.close()
	rep, err := experiments.Execute(ctx, ra.x, st.stack, ra.o)
	if rep == nil {
		return 1, err
	}
	if _, werr := ra.writeReport(rep); werr != nil {
		return 1, werr
	}
	if err != nil {
		return 1, err
	}
	if rep.Verdict != experiments.Pass {
		return 1, fmt.Errorf("%s: verdict %s", ra.x.Name, rep.Verdict)
	}
	return 0, nil
}

// startStack starts the services the experiment needs, once nothing
// stands in the way: a stack of `whatif up` on the ports, a capability
// the backend lacks.
func (ra runArgs) startStack(ctx context.Context) (*runningStack, error) {
	x, sf := ra.x, ra.sf
	if pid, up := sf.servePID(); up {
		return nil, fmt.Errorf("a stack started by `whatif up` (pid %d) holds ports %d+; run with another --base or `whatif down --base %d` first", pid, *sf.base, *sf.base)
	}
	b, err := sf.backend()
	if err != nil {
		return nil, err
	}
	if err := b.offers().Check(x.Requires); err != nil {
		return nil, fmt.Errorf("%s on the %s stack: %w", x.Name, *sf.kind, err)
	}
	return sf.start(ctx, os.Stdout, x.Needs())
}

// writeReport prints the checks table and writes the run folder.
func (ra runArgs) writeReport(rep *experiments.Report) (string, error) {
	fmt.Println()
	rep.Table(os.Stdout)
	dir, err := rep.Write(ra.results)
	if err != nil {
		return "", fmt.Errorf("writing the report: %w", err)
	}
	fmt.Printf("report: %s/report.md (timeline.jsonl, summary.json, junit.xml beside it)\n", dir)
	return dir, nil
}

// flagSet reports whether the command line gave the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// parseFlags parses quietly; --help prints the command's flags to stdout
// and returns flag.ErrHelp, which main turns into exit 0.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(helpOut)
		fmt.Fprintf(helpOut, "usage of whatif %s:\n", fs.Name())
		fs.PrintDefaults()
	}
	return err
}

// helpOut is where --help goes (a test swaps it).
var helpOut io.Writer = os.Stdout

// parseWithName accepts the one positional name before or after flags.
func parseWithName(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		if name != "" || fs.NArg() > 1 {
			return "", fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
		}
		name = fs.Arg(0)
	}
	if name == "" {
		return "", fmt.Errorf("which experiment? (whatif list)")
	}
	return name, nil
}
