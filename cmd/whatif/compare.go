package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/whatif-lab/whatif/cmd/whatif/args"
	"github.com/whatif-lab/whatif/experiments"
)

// cmdCompare lines up two run folders (or results roots) check by check
// and fails on a regression: the test a CI pipeline runs against its last
// good run.
func cmdCompare(argv []string) (int, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	tol := fs.Float64("tolerance", 0.5, "a passing check regresses when it loses more than this share of its margin (0..1)")
	if err := args.Parse(fs, argv); err != nil {
		return 2, err
	}
	if fs.NArg() != 2 {
		return 2, fmt.Errorf("compare takes two run folders or results roots: OLD NEW")
	}
	if *tol < 0 || *tol > 1 {
		return 2, fmt.Errorf("--tolerance %v: want a share between 0 and 1", *tol)
	}
	old, err := experiments.ReadRunFolders(fs.Arg(0))
	if err != nil {
		return 2, err
	}
	new, err := experiments.ReadRunFolders(fs.Arg(1))
	if err != nil {
		return 2, err
	}
	cs, err := experiments.Compare(old, new, *tol)
	if err != nil {
		return 2, err
	}
	experiments.WriteChanges(os.Stdout, cs)
	n := 0
	for _, c := range cs {
		if c.Regression != "" {
			n++
		}
	}
	if n > 0 {
		return 1, fmt.Errorf("%d check(s) regressed", n)
	}
	fmt.Println("no regression")
	return 0, nil
}
