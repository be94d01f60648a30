package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/whatif-lab/whatif/cmd/whatif/args"
	"github.com/whatif-lab/whatif/experiments"
)

// cmdAblate plays the protected run with everything on, then once per
// protection with only that one off, and fails unless each one broke a check.
func cmdAblate(ctx context.Context, argv []string) (int, error) {
	ra, err := args.ParseAblate(argv)
	if err != nil {
		return 2, err
	}
	st, err := startStack(ctx, ra)
	if err != nil {
		return 1, err
	}
	defer st.close()
	rep, a, err := experiments.Ablate(ctx, ra.X, st.stack, ra.O)
	if rep == nil {
		return 1, err
	}
	dir, werr := writeReport(ra, rep)
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
		return 1, fmt.Errorf("%s: not every protection is shown to be needed: %s", ra.X.Name, strings.Join(un, "; "))
	}
	return 0, nil
}
