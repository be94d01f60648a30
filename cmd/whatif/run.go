package main

import (
	"context"
	"fmt"
	"os"

	"github.com/whatif-lab/whatif/cmd/whatif/args"
	"github.com/whatif-lab/whatif/experiments"
)

func cmdRun(ctx context.Context, argv []string) (int, error) {
	ra, err := args.ParseRun(argv)
	if err != nil {
		return 2, err
	}
	st, err := startStack(ctx, ra)
	if err != nil {
		return 1, err
	}
	defer st.close()
	rep, err := experiments.Execute(ctx, ra.X, st.stack, ra.O)
	if rep == nil {
		return 1, err
	}
	if _, werr := writeReport(ra, rep); werr != nil {
		return 1, werr
	}
	if err != nil {
		return 1, err
	}
	if rep.Verdict != experiments.Pass {
		return 1, fmt.Errorf("%s: verdict %s", ra.X.Name, rep.Verdict)
	}
	return 0, nil
}

// startStack starts the services the experiment needs, once nothing
// stands in the way: a stack of `whatif up` on the ports, a capability
// the backend lacks.
func startStack(ctx context.Context, ra args.Run) (*runningStack, error) {
	x, sf := ra.X, stackFlags{ra.Stack}
	if pid, up := sf.servePID(); up {
		return nil, fmt.Errorf("a stack started by `whatif up` (pid %d) holds ports %d+; run with another --base or `whatif down --base %d` first", pid, sf.Base, sf.Base)
	}
	b, err := sf.backend()
	if err != nil {
		return nil, err
	}
	if err := b.offers().Check(x.Requires); err != nil {
		return nil, fmt.Errorf("%s on the %s stack: %w", x.Name, sf.Kind, err)
	}
	return sf.start(ctx, os.Stdout, x.Part())
}

// writeReport prints the checks table and writes the run folder.
func writeReport(ra args.Run, rep *experiments.Report) (string, error) {
	fmt.Println()
	rep.Table(os.Stdout)
	dir, err := rep.Write(ra.Results)
	if err != nil {
		return "", fmt.Errorf("writing the report: %w", err)
	}
	fmt.Printf("report: %s/report.md (timeline.jsonl, summary.json, junit.xml beside it)\n", dir)
	return dir, nil
}
