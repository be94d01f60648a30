package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/whatif-lab/whatif/experiments"
)

// parseAblate checks every flag of `whatif ablate` before anything starts.
func parseAblate(args []string) (runArgs, error) {
	fs := flag.NewFlagSet("ablate", flag.ContinueOnError)
	ra, ls, err := addExperimentFlags(fs).parse(fs, args)
	if err != nil {
		return runArgs{}, err
	}
	if len(ra.x.Protections()) == 0 {
		return runArgs{}, fmt.Errorf("%s claims no protection: nothing to ablate", ra.x.Name)
	}
	ra.o.Runs = experiments.Matrix([]experiments.Variant{experiments.Protected}, ls)
	return ra, nil
}

// cmdAblate plays the protected run with everything on, then once per
// protection with only that one off, and fails unless each one broke a check.
func cmdAblate(ctx context.Context, args []string) (int, error) {
	ra, err := parseAblate(args)
	if err != nil {
		return 2, err
	}
	st, err := ra.startStack(ctx)
	if err != nil {
		return 1, err
	}
	defer st.close()
	rep, a, err := experiments.Ablate(ctx, ra.x, st.stack, ra.o)
	if rep == nil {
		return 1, err
	}
	dir, werr := ra.writeReport(rep)
	if werr != nil {
		return 1, werr
	}
	if werr := a.Write(dir); werr != nil {
		return 1, werr
	}
	if werr := experiments.Render(dir); werr != nil { // again, now with the ablation matrix
		return 1, werr
	}
	fmt.Println()
	if werr := a.Markdown(os.Stdout); werr != nil {
		return 1, werr
	}
	fmt.Printf("ablation: %s/ablation.md (ablation.json beside it)\n", dir)
	if err != nil {
		return 1, err
	}
	if un := a.Unproven(); len(un) > 0 {
		return 1, fmt.Errorf("%s: not every protection is shown to be needed: %s", ra.x.Name, strings.Join(un, "; "))
	}
	return 0, nil
}
