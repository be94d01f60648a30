package main

import (
	"flag"
	"fmt"

	"github.com/whatif-lab/whatif/cmd/whatif/args"
	"github.com/whatif-lab/whatif/experiments"
)

// cmdReport rebuilds report.md and report.html of a run folder from its
// summary.json and timeline.jsonl (and ablation.json, if any).
func cmdReport(argv []string) (int, error) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	if err := args.Parse(fs, argv); err != nil {
		return 2, err
	}
	if fs.NArg() != 1 {
		return 2, fmt.Errorf("report takes one run folder, e.g. results/redis-crash/20261204T043404Z")
	}
	dir := fs.Arg(0)
	if _, err := experiments.ReadSaved(dir); err != nil {
		return 2, err // not a run folder: bad input
	}
	if err := experiments.Render(dir); err != nil {
		return 1, err
	}
	fmt.Printf("report: %s/report.md and %s/report.html\n", dir, dir)
	return 0, nil
}
