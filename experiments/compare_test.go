package experiments

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func savedOf(x string, runs ...SavedRun) *Saved {
	return &Saved{Report: SavedReport{Experiment: x, Runs: runs}}
}

func runOf(v Variant, l Level, os ...Outcome) SavedRun {
	return SavedRun{Variant: v, Level: l, Outcomes: os}
}

func atMost(name string, v, bound float64, st Status) Outcome {
	return Outcome{Check: name, Status: st, Value: v, Sense: "<=", Bound: bound, Measured: Percent(v), Margin: Percent(bound - v)}
}

func TestCompare(t *testing.T) {
	errs := func(v float64, st Status) SavedRun {
		return runOf(Protected, Peak, atMost("client error rate", v, 0.01, st))
	}
	for _, c := range []struct {
		name     string
		old, new []*Saved
		want     []string // the regressions, in order
	}{
		{"unchanged", []*Saved{savedOf("x", errs(0.001, Pass))}, []*Saved{savedOf("x", errs(0.001, Pass))}, nil},
		{"a pass that now fails", []*Saved{savedOf("x", errs(0.001, Pass))}, []*Saved{savedOf("x", errs(0.2, Fail))}, []string{"passed, now FAIL"}},
		{"a pass now Unknown", []*Saved{savedOf("x", errs(0.001, Pass))}, []*Saved{savedOf("x", errs(0, Unknown))}, []string{"passed, now UNKNOWN"}},
		{"a pass now missing", []*Saved{savedOf("x", errs(0.001, Pass))}, []*Saved{savedOf("x", runOf(Protected, Peak))}, []string{"passed, now missing"}},
		{"margin lost past the tolerance", []*Saved{savedOf("x", errs(0.001, Pass))}, []*Saved{savedOf("x", errs(0.008, Pass))},
			[]string{"still passes, but lost 78% of its margin (0.90% → 0.20%)"}},
		{"margin lost within the tolerance", []*Saved{savedOf("x", errs(0.001, Pass))}, []*Saved{savedOf("x", errs(0.004, Pass))}, nil},
		{"a fail that now passes is no regression", []*Saved{savedOf("x", errs(0.2, Fail))}, []*Saved{savedOf("x", errs(0.001, Pass))}, nil},
		{"a new check is no regression", []*Saved{savedOf("x", runOf(Protected, Peak))}, []*Saved{savedOf("x", errs(0.001, Pass))}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs, err := Compare(c.old, c.new, 0.5)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ch := range cs {
				if ch.Regression != "" {
					got = append(got, ch.Regression)
				}
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Fatalf("regressions %q, want %q", got, c.want)
			}
		})
	}
}

func TestCompareOrdersVerdictChangesFirst(t *testing.T) {
	old := savedOf("x", runOf(Protected, Peak, atMost("a", 0.001, 0.01, Pass), atMost("b", 0.001, 0.01, Pass)))
	new := savedOf("x", runOf(Protected, Peak, atMost("a", 0.001, 0.01, Pass), atMost("b", 0.5, 0.01, Fail)))
	cs, err := Compare([]*Saved{old}, []*Saved{new}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Check != "b" {
		t.Fatalf("first change %q, want the verdict change b", cs[0].Check)
	}
	var b bytes.Buffer
	WriteChanges(&b, cs)
	if !strings.Contains(b.String(), "REGRESSION: passed, now FAIL") {
		t.Fatalf("the table does not flag b:\n%s", b.String())
	}
}

func TestCompareRejects(t *testing.T) {
	s := savedOf("x")
	if _, err := Compare([]*Saved{s}, []*Saved{s}, 1.5); err == nil || !strings.Contains(err.Error(), "tolerance 1.5") {
		t.Fatalf("tolerance 1.5: %v", err)
	}
	if _, err := Compare([]*Saved{s, s}, []*Saved{s}, 0.5); err == nil || !strings.Contains(err.Error(), "two run folders of x") {
		t.Fatalf("two folders of one experiment: %v", err)
	}
	if _, err := ReadRunFolders(t.TempDir()); err == nil || !strings.Contains(err.Error(), "neither a run folder") {
		t.Fatalf("empty root: %v", err)
	}
}

// A results root reads as each experiment's newest run folder.
func TestReadRunFoldersTakesTheNewest(t *testing.T) {
	root := t.TempDir()
	for _, ts := range []string{"20261204T040000Z", "20261204T050000Z"} {
		dir := filepath.Join(root, "db-failover", ts)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{"experiment":"db-failover","title":"`+ts+`","verdict":"PASS"}`), 0o644)
		os.WriteFile(filepath.Join(dir, "timeline.jsonl"), nil, 0o644)
	}
	ss, err := ReadRunFolders(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 1 || ss[0].Report.Title != "20261204T050000Z" {
		t.Fatalf("read %d folders, first %+v; want the newest only", len(ss), ss[0].Report)
	}
}
