package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/scenarios"
)

func cmdList() error {
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSEED #\tTITLE")
	for _, x := range scenarios.All() {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", x.Name, x.Scenario, x.Title)
	}
	return tw.Flush()
}

func cmdExplain(args []string) (int, error) {
	if len(args) != 1 {
		return 2, fmt.Errorf("explain takes one experiment name")
	}
	x, err := scenarios.Lookup(args[0])
	if err != nil {
		return 2, err
	}
	fmt.Printf("%s — %s (seed scenario %d)\n\n%s\n\n", x.Name, x.Title, x.Scenario, x.Shows)
	fmt.Printf("load: %.0f req/s normal, %.0f req/s peak\n", x.Load.RateFor(experiments.Normal), x.Load.RateFor(experiments.Peak))
	fmt.Printf("phases (full scale): baseline %s, fault %s, recovery %s\n", x.Phases.Baseline, x.Phases.Fault, x.Phases.Recovery)
	for _, lv := range []experiments.Level{experiments.Normal, experiments.Peak} {
		if q := x.ScaleFor(experiments.QuickScale, lv); q != experiments.QuickScale {
			fmt.Printf("--quick plays its %s-load runs at time scale %g, not %g: their checks need the requests of longer phases\n", lv, q, experiments.QuickScale)
		}
	}
	fmt.Printf("switched off in the unprotected run: %s\n", strings.Join(x.Mitigation, ", "))
	if len(x.Off) > 0 {
		fmt.Printf("switched off in both runs: %s\n", strings.Join(x.Off, ", "))
	}
	fmt.Printf("--break takes: %s\n", strings.Join(x.Protections(), ", "))
	if stack, err := compose.Default(0).Select(x.Needs()); err == nil {
		fmt.Printf("services it starts: %s\n", strings.Join(stack, ", "))
	}
	if len(x.Requires) > 0 {
		var need []string
		for _, c := range x.Requires {
			need = append(need, string(c))
		}
		fmt.Printf("needs from the stack: %s\n", strings.Join(need, ", "))
	}
	fmt.Println()
	fmt.Println("unprotected runs must show the cascade:")
	for _, c := range x.Cascade {
		fmt.Println("  -", c.Name)
	}
	fmt.Println("protected runs must hold:")
	for _, c := range x.Holds {
		fmt.Println("  -", c.Name)
	}
	fmt.Println("every run ends with one write that must succeed.")
	return 0, nil
}
