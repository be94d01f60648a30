package experiments

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
)

// Ablation is the proof that each protection is needed: the protected run
// with everything on, then once per protection with only that one off.
// A protection is proven when its run fails at least one Holds check at
// some load while the reference run at that load passed.
type Ablation struct {
	Experiment string         `json:"experiment"`
	Levels     []Level        `json:"loads"`
	Reference  []AblationCell `json:"reference"` // everything on, per load
	Rows       []AblationCell `json:"ablations"` // one protection off, per load
}

// AblationCell is one protected run of an ablation and what it broke.
type AblationCell struct {
	Protection string    `json:"protection,omitempty"` // the one switched off; "" for the reference
	Level      Level     `json:"load"`
	Status     Status    `json:"status"`
	Broke      []Outcome `json:"broke,omitempty"` // the checks that failed
	Err        string    `json:"error,omitempty"`
}

func cellOf(p string, r *Run) AblationCell {
	c := AblationCell{Protection: p, Level: r.Level, Status: r.Status, Err: r.Err}
	for _, o := range r.Outcomes {
		if o.Status == Fail {
			c.Broke = append(c.Broke, o)
		}
	}
	return c
}

// Ablate plays the ablation of x at o.Runs' loads (its protected cells;
// the default is both loads) on a running stack.
func Ablate(ctx context.Context, x Experiment, st Stack, o Options) (*Report, *Ablation, error) {
	if len(o.Break) > 0 {
		return nil, nil, fmt.Errorf("an ablation switches each protection off in turn: it takes no --break list")
	}
	m, err := newMatrix(ctx, x, st, o)
	if err != nil {
		return nil, nil, err
	}
	a := &Ablation{Experiment: x.Name}
	for _, c := range m.o.Runs {
		if c.Variant == Protected && !slices.Contains(a.Levels, c.Level) {
			a.Levels = append(a.Levels, c.Level)
		}
	}
	if len(a.Levels) == 0 {
		return nil, nil, fmt.Errorf("an ablation plays protected runs: no protected run asked for")
	}
	rep := m.report()
	for _, lv := range a.Levels {
		for _, p := range append([]string{""}, x.Protections()...) {
			var broken []string
			if p != "" {
				broken = []string{p}
			}
			r := m.judged(ctx, Cell{Protected, lv}, broken)
			rep.Runs = append(rep.Runs, r)
			if p == "" {
				a.Reference = append(a.Reference, cellOf(p, r))
			} else {
				a.Rows = append(a.Rows, cellOf(p, r))
			}
			if ctx.Err() != nil {
				return rep.done(), a, ctx.Err()
			}
		}
	}
	return rep.done(), a, nil
}

// Unproven lists why the ablation does not prove every protection needed:
// a reference run that did not pass (then nothing is shown at that load),
// and each protection that broke no check at any load whose reference
// passed. Empty means every protection is proven.
func (a *Ablation) Unproven() []string {
	var out []string
	ok := map[Level]bool{}
	for _, c := range a.Reference {
		ok[c.Level] = c.Status == Pass
		if c.Status != Pass {
			out = append(out, fmt.Sprintf("the reference run at %s load (everything on) is %s, so nothing is shown at that load", c.Level, c.Status))
		}
	}
	proven := map[string]bool{}
	var order []string
	for _, c := range a.Rows {
		if !slices.Contains(order, c.Protection) {
			order = append(order, c.Protection)
		}
		if ok[c.Level] && len(c.Broke) > 0 {
			proven[c.Protection] = true
		}
	}
	for _, p := range order {
		if !proven[p] {
			out = append(out, fmt.Sprintf("%s: switched off alone, it broke no check", p))
		}
	}
	return out
}

// Write puts ablation.json and ablation.md in the report's folder.
func (a *Ablation) Write(dir string) error {
	if err := writeFile(filepath.Join(dir, "ablation.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(a)
	}); err != nil {
		return fmt.Errorf("writing ablation.json: %w", err)
	}
	if err := writeFile(filepath.Join(dir, "ablation.md"), a.Markdown); err != nil {
		return fmt.Errorf("writing ablation.md: %w", err)
	}
	return nil
}

// Markdown is the matrix: a row per protection, a column per load, each
// cell the checks that failed with it off.
func (a *Ablation) Markdown(w io.Writer) error {
	fmt.Fprintf(w, "# %s — ablation\n\nEach protected run switches off one protection; the reference switches off none.\n\n", a.Experiment)
	fmt.Fprintf(w, "| switched off |")
	for _, lv := range a.Levels {
		fmt.Fprintf(w, " %s |", lv)
	}
	fmt.Fprintf(w, "\n|---|%s\n", strings.Repeat("---|", len(a.Levels)))
	row := func(name string, cells []AblationCell) {
		fmt.Fprintf(w, "| %s |", name)
		for _, lv := range a.Levels {
			i := slices.IndexFunc(cells, func(c AblationCell) bool { return c.Level == lv })
			if i < 0 {
				fmt.Fprintf(w, " — |")
				continue
			}
			fmt.Fprintf(w, " %s |", cells[i].summary())
		}
		fmt.Fprintln(w)
	}
	row("(none: reference)", a.Reference)
	seen := map[string]bool{}
	for _, c := range a.Rows {
		if seen[c.Protection] {
			continue
		}
		seen[c.Protection] = true
		var cells []AblationCell
		for _, d := range a.Rows {
			if d.Protection == c.Protection {
				cells = append(cells, d)
			}
		}
		row("`"+c.Protection+"`", cells)
	}
	if un := a.Unproven(); len(un) > 0 {
		fmt.Fprintf(w, "\nNot proven:\n\n")
		for _, u := range un {
			fmt.Fprintf(w, "- %s\n", u)
		}
	} else {
		fmt.Fprintf(w, "\nEvery protection is needed: with it off alone, at least one check fails.\n")
	}
	return nil
}

// summary is a matrix cell: the run's status and the checks it failed.
func (c AblationCell) summary() string {
	if len(c.Broke) == 0 {
		if c.Err != "" {
			return strings.ReplaceAll(fmt.Sprintf("%s (%s)", c.Status, oneLine(c.Err)), "|", `\|`)
		}
		return c.Status.String()
	}
	var parts []string
	for _, o := range c.Broke {
		parts = append(parts, fmt.Sprintf("%s: %s vs %s", o.Check, o.Measured, o.Threshold))
	}
	return strings.ReplaceAll("FAIL: "+strings.Join(parts, "; "), "|", `\|`)
}
