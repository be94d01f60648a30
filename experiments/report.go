package experiments

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

// Write stores a report under root/<experiment>/<timestamp>/ and returns
// that folder: timeline.jsonl, summary.json and junit.xml, then report.md
// and report.html rendered from those files (Render).
func (rep *Report) Write(root string) (string, error) {
	dir := filepath.Join(root, rep.Experiment, rep.Started.UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"timeline.jsonl", rep.writeTimeline},
		{"summary.json", rep.writeSummary},
		{"junit.xml", rep.writeJUnit},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(dir, f.name), f.write); err != nil {
			return "", fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return dir, Render(dir)
}

// Render (re)builds report.md and report.html of a run folder from its
// summary.json, timeline.jsonl and, where present, ablation.json.
func Render(dir string) error {
	s, err := ReadSaved(dir)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{{"report.md", s.markdown}, {"report.html", s.html}} {
		if err := writeFile(filepath.Join(dir, f.name), f.write); err != nil {
			return fmt.Errorf("writing %s: %w", f.name, err)
		}
	}
	return nil
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	if err := fn(w); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// phaseOf names the phase a scheduled second belongs to.
func (r *Run) phaseOf(sec time.Duration) string {
	switch {
	case sec < r.FaultAt.Truncate(time.Second):
		return string(Baseline)
	case sec < r.RecoverAt.Truncate(time.Second):
		return string(Faulted)
	}
	return string(Recovery)
}

func (rep *Report) writeTimeline(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, r := range rep.Runs {
		if r.Timeline == nil {
			continue
		}
		samples := map[int]Sample{}
		for _, s := range r.Samples {
			samples[int(s.At.Round(time.Second)/time.Second)] = s
		}
		for _, sec := range r.Timeline.Seconds() {
			line := map[string]any{
				"run": string(r.Variant) + "/" + string(r.Level), "second": sec.Second,
				"phase": r.phaseOf(time.Duration(sec.Second) * time.Second), "client": sec,
			}
			if sec.Second < len(r.BoxLate) {
				line["box_late_ms"] = ms(r.BoxLate[sec.Second])
			}
			if s, ok := samples[sec.Second]; ok {
				line["api"] = s.Values
				line["api_text"] = s.Text
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
	}
	return nil
}

func (rep *Report) writeSummary(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Table prints the verdict table: one row per run and check.
func (rep *Report) Table(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "RUN\tCHECK\tSTATUS\tMEASURED\tTHRESHOLD\n")
	for _, r := range rep.Runs {
		name := string(r.Variant) + "/" + string(r.Level)
		if len(r.Broken) > 0 {
			name += " (broken: " + strings.Join(r.Broken, ",") + ")"
		}
		for _, o := range r.Outcomes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", name, o.Check, o.Status, o.Measured, o.Threshold)
		}
		if r.Err != "" {
			fmt.Fprintf(tw, "%s\t(run error)\t%s\t%s\t\n", name, r.Status, oneLine(r.Err))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "verdict: %s — %s (%d runs, %.0fs)\n", rep.Verdict, rep.Experiment, len(rep.Runs), rep.Wall)
	for _, r := range rep.Runs {
		for _, o := range r.Outcomes {
			if o.Status != Pass {
				fmt.Fprintf(w, "  %s %s/%s: %q measured %s, needs %s %s\n", o.Status, r.Variant, r.Level, o.Check, o.Measured, o.Threshold, o.Detail)
			}
		}
	}
}

func oneLine(s string) string { return strings.ReplaceAll(s, "\n", "; ") }

// markdown is report.md: per run, its checks and per-phase figures.
func (s *Saved) markdown(w io.Writer) error {
	rep := s.Report
	fmt.Fprintf(w, "# %s — %s\n\nSeed scenario %d. Verdict: **%s**. Time scale %.2f, wall %.0f s, started %s. Runs replayed after a weak baseline: %d.\n\n",
		rep.Experiment, rep.Title, rep.Scenario, rep.Verdict, rep.Scale, rep.Wall, rep.Started.UTC().Format(time.RFC3339), rep.Replays)
	if len(rep.Set) > 0 {
		fmt.Fprintf(w, "Settings overridden with --set: %s.\n\n", strings.Join(rep.Set, ", "))
	}
	for _, r := range rep.Runs {
		fmt.Fprintf(w, "## %s / %s — %s\n\n", r.Variant, r.Level, r.Status)
		if r.Scale != 0 && r.Scale != rep.Scale {
			fmt.Fprintf(w, "Played at time scale %.2f: its checks need the requests of longer phases.\n", r.Scale)
		}
		fmt.Fprintf(w, "Offered %.0f req/s. Fault injected at %.1fs, recovered at %.1fs–%.1fs, end %.1fs.\n",
			r.Rate, r.Marks["fault"], r.Marks["recover"], r.Marks["recovered"], r.Marks["end"])
		fmt.Fprintf(w, "Wall time: prepare %.1fs, play (phases, in-flight requests, audit) %.1fs, checks and final write %.1fs.\n",
			r.Took.Prepare, r.Took.Play, r.Took.Judge)
		if len(r.Broken) > 0 {
			fmt.Fprintf(w, "Protections forced off: %s.\n", strings.Join(r.Broken, ", "))
		}
		if r.Err != "" {
			fmt.Fprintf(w, "\nRun error: `%s`\n", oneLine(r.Err))
		}
		checksTable(w, r.Outcomes)
		for _, p := range []Phase{Baseline, Faulted, Recovery} {
			if f, ok := r.Phases[p]; ok {
				fmt.Fprintf(w, "\n- %s: offered %.0f/s, ok %.0f/s, errors %.2f%%, degraded %.2f%%, dropped %d, p50 %.1fms, p99 %.1fms, max %.1fms",
					p, f.Offered, f.OK, 100*f.Errors, 100*f.Degraded, f.Dropped, f.P50, f.P99, f.Max)
			}
		}
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
		if f := r.FirstAttempt; f != nil {
			fmt.Fprintf(w, "\nFirst attempt, replaced because its baseline was weak (fault at %.1fs, end %.1fs):\n", f.Marks["fault"], f.Marks["end"])
			checksTable(w, f.Outcomes)
		}
		fmt.Fprintln(w)
	}
	if s.Ablation != nil {
		return s.Ablation.Markdown(w)
	}
	return nil
}

func checksTable(w io.Writer, os []Outcome) {
	fmt.Fprintf(w, "\n| check | status | measured | threshold | margin | detail |\n|---|---|---|---|---|---|\n")
	for _, o := range os {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", o.Check, o.Status, o.Measured, o.Threshold, o.Margin, o.Detail)
	}
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

type junitSuite struct {
	XMLName  xml.Name    `xml:"testsuite"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Class   string    `xml:"classname,attr"`
	Name    string    `xml:"name,attr"`
	Failure *junitMsg `xml:"failure,omitempty"`
	Skipped *junitMsg `xml:"skipped,omitempty"`
}

type junitMsg struct {
	Message string `xml:"message,attr"`
}

func (rep *Report) writeJUnit(w io.Writer) error {
	s := junitSuite{Name: "whatif." + rep.Experiment, Time: rep.Wall}
	for _, r := range rep.Runs {
		for _, o := range r.Outcomes {
			c := junitCase{Class: fmt.Sprintf("%s.%s.%s", rep.Experiment, r.Variant, r.Level), Name: o.Check}
			msg := fmt.Sprintf("measured %s, needs %s %s", o.Measured, o.Threshold, o.Detail)
			switch o.Status {
			case Fail:
				c.Failure = &junitMsg{Message: msg}
				s.Failures++
			case Unknown:
				// Unknown is not a pass: report it as a failure too, so CI
				// never reads it as green.
				c.Failure = &junitMsg{Message: "UNKNOWN: " + msg}
				s.Failures++
			}
			s.Cases = append(s.Cases, c)
			s.Tests++
		}
		if f := r.FirstAttempt; f != nil {
			for _, o := range f.Outcomes {
				s.Cases = append(s.Cases, junitCase{Class: fmt.Sprintf("%s.%s.%s.first-attempt", rep.Experiment, r.Variant, r.Level), Name: o.Check,
					Skipped: &junitMsg{Message: fmt.Sprintf("replayed: the baseline was weak; this attempt measured %s, needs %s", o.Measured, o.Threshold)}})
				s.Tests++
			}
		}
	}
	io.WriteString(w, xml.Header)
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	return enc.Encode(s)
}
