package experiments

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
)

// Change is one check of one run compared between two run folders.
type Change struct {
	Experiment, Run, Check string
	Old, New               *Outcome // nil where the check is missing on that side
	Regression             string   // why this change fails the comparison; "" if it does not
}

// Compare lines up two sets of run folders check by check. A check that
// passed and now does not, or now is missing, is a regression; so is one
// that still passes but lost more than tolerance (a share) of its margin.
// Verdict changes come first.
func Compare(old, new []*Saved, tolerance float64) ([]Change, error) {
	if tolerance < 0 || tolerance > 1 || math.IsNaN(tolerance) {
		return nil, fmt.Errorf("tolerance %v: want a share of the old margin between 0 and 1", tolerance)
	}
	type key struct{ x, run, check string }
	index := func(ss []*Saved) (map[key]*Outcome, []key, error) {
		m, order := map[key]*Outcome{}, []key(nil)
		seen := map[string]bool{}
		for _, s := range ss {
			if seen[s.Report.Experiment] {
				return nil, nil, fmt.Errorf("two run folders of %s on one side: compare one run folder per experiment", s.Report.Experiment)
			}
			seen[s.Report.Experiment] = true
			for _, r := range s.Report.Runs {
				for i := range r.Outcomes {
					run := r.Name()
					if len(r.Broken) > 0 { // an ablation plays a cell once per protection
						run += " (broken: " + strings.Join(r.Broken, ",") + ")"
					}
					k := key{s.Report.Experiment, run, r.Outcomes[i].Check}
					m[k] = &r.Outcomes[i]
					order = append(order, k)
				}
			}
		}
		return m, order, nil
	}
	om, oorder, err := index(old)
	if err != nil {
		return nil, err
	}
	nm, norder, err := index(new)
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, k := range oorder {
		out = append(out, judgeChange(Change{Experiment: k.x, Run: k.run, Check: k.check, Old: om[k], New: nm[k]}, tolerance))
	}
	for _, k := range norder {
		if _, ok := om[k]; !ok {
			out = append(out, judgeChange(Change{Experiment: k.x, Run: k.run, Check: k.check, New: nm[k]}, tolerance))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].statusChanged() && !out[j].statusChanged() })
	return out, nil
}

func (c Change) statusChanged() bool {
	return c.Old == nil || c.New == nil || c.Old.Status != c.New.Status
}

func judgeChange(c Change, tolerance float64) Change {
	switch {
	case c.Old == nil || c.Old.Status != Pass:
		return c // only what passed can regress
	case c.New == nil:
		c.Regression = "passed, now missing"
	case c.New.Status != Pass:
		c.Regression = "passed, now " + c.New.Status.String()
	default:
		om, ok1 := c.Old.MarginValue()
		nm, ok2 := c.New.MarginValue()
		if ok1 && ok2 && om > 0 && nm < om*(1-tolerance) {
			c.Regression = fmt.Sprintf("still passes, but lost %.0f%% of its margin (%s → %s)", 100*(1-nm/om), c.Old.Margin, c.New.Margin)
		}
	}
	return c
}

// ReadRunFolders reads a run folder, or every experiment's newest run
// folder under a results root.
func ReadRunFolders(path string) ([]*Saved, error) {
	if _, err := os.Stat(filepath.Join(path, "summary.json")); err == nil {
		s, err := ReadSaved(path)
		if err != nil {
			return nil, err
		}
		return []*Saved{s}, nil
	}
	exps, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []*Saved
	for _, e := range exps {
		if !e.IsDir() {
			continue
		}
		runs, err := filepath.Glob(filepath.Join(path, e.Name(), "*", "summary.json"))
		if err != nil || len(runs) == 0 {
			continue
		}
		sort.Strings(runs) // folders are named by their UTC start: the last is the newest
		s, err := ReadSaved(filepath.Dir(runs[len(runs)-1]))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": neither a run folder (summary.json) nor a results root holding any")
	}
	return out, nil
}

// WriteChanges prints the comparison, one line per check.
func WriteChanges(w io.Writer, cs []Change) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXPERIMENT\tRUN\tCHECK\tOLD\tNEW\tCHANGE\t")
	side := func(o *Outcome) string {
		if o == nil {
			return "(missing)"
		}
		return o.Status.String() + " " + o.Measured
	}
	for _, c := range cs {
		change := ""
		if c.Old != nil && c.New != nil && c.Old.Sense != "" && c.New.Sense != "" {
			change = fmt.Sprintf("%+.4g", c.New.Value-c.Old.Value)
		}
		if c.Regression != "" {
			change = strings.TrimSpace(change + "  REGRESSION: " + c.Regression)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", c.Experiment, c.Run, c.Check, side(c.Old), side(c.New), change)
	}
	tw.Flush()
}
