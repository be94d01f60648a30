package experiments

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A replay never hides the first attempt: summary.json, junit.xml and
// report.md keep it, and the report counts it.
func TestReplayKeepsTheFirstAttempt(t *testing.T) {
	first := &Run{Variant: Protected, Level: Peak, FaultAt: 5 * time.Second, End: 25 * time.Second,
		Outcomes: []Outcome{{Check: "client error rate", Status: Unknown, Measured: "3.00%", Threshold: "<= 1.00%", Detail: "weak baseline: 12% errors"}}}
	second := &Run{Variant: Protected, Level: Peak, Status: Pass, FirstAttempt: first,
		Outcomes: []Outcome{{Check: "client error rate", Status: Pass, Measured: "0.00%", Threshold: "<= 1.00%", Margin: "1.00%"}}}
	rep := (&Report{Experiment: "x", Started: time.Now(), Runs: []*Run{second}}).done()
	if rep.Replays != 1 || rep.Verdict != Pass {
		t.Fatalf("replays %d, verdict %s; want 1, PASS", rep.Replays, rep.Verdict)
	}
	dir, err := rep.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	md, junit, js := readFile(t, filepath.Join(dir, "report.md")), readFile(t, filepath.Join(dir, "junit.xml")), readFile(t, filepath.Join(dir, "summary.json"))
	for _, c := range []struct{ file, got, want string }{
		{"report.md", md, "Runs replayed after a weak baseline: 1."},
		{"report.md", md, "First attempt, replaced because its baseline was weak (fault at 5.0s, end 25.0s)"},
		{"report.md", md, "| client error rate | UNKNOWN | 3.00% | <= 1.00% |  | weak baseline: 12% errors |"},
		{"report.md", md, "| client error rate | PASS | 0.00% | <= 1.00% | 1.00% |  |"},
		{"junit.xml", junit, `classname="x.protected.peak.first-attempt" name="client error rate"`},
		{"junit.xml", junit, `<skipped message="replayed: the baseline was weak; this attempt measured 3.00%, needs &lt;= 1.00%">`},
		{"junit.xml", junit, `failures="0"`},
		{"summary.json", js, `"first_attempt": {`},
		{"summary.json", js, `"replays": 1`},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s lacks %q:\n%s", c.file, c.want, c.got)
		}
	}
}

// report.html of a recorded run (db-failover quick, unprotected, both
// loads): a chart per figure and run, the fault shaded, the checks with
// margins, and nothing fetched from anywhere.
func TestReportHTMLOfARecordedRun(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"summary.json", "timeline.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(readFile(t, filepath.Join("testdata", "db-failover-quick", f))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Render(dir); err != nil {
		t.Fatal(err)
	}
	page := readFile(t, filepath.Join(dir, "report.html"))
	s, err := ReadSaved(dir)
	if err != nil {
		t.Fatal(err)
	}
	// traffic, errors by class, latency, 5 counters, 2 gauges; one chart per run
	rows := 3 + len(s.Report.Watch) + len(s.Report.Gauges)
	if got, want := strings.Count(page, "<svg "), rows*len(s.Report.Runs); got != want {
		t.Errorf("%d charts, want %d (%d rows x %d runs)", got, want, rows, len(s.Report.Runs))
	}
	if got := strings.Count(page, `<rect class="fault"`); got != rows*len(s.Report.Runs) {
		t.Errorf("%d charts shade the fault, want every one", got)
	}
	for _, want := range []string{
		"requests per second", "errors per second by class", "latency, ms (log scale)", "orders.created per second", "pool.primary.in_use",
		"write error rate", "<th>margin</th>", `class="PASS"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report.html lacks %q", want)
		}
	}
	// self-contained: nothing the browser would fetch
	if m := regexp.MustCompile(`(?i)(<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import|https?://)`).FindString(page); m != "" {
		t.Errorf("report.html asks for something over the network: %q", m)
	}
	// the unprotected peak run's errors reach the chart: some errors point is above the axis
	if !strings.Contains(page, "■</tspan> errors") {
		t.Error("no errors series in the legend")
	}
	md := readFile(t, filepath.Join(dir, "report.md"))
	if !strings.Contains(md, "## unprotected / peak — PASS") {
		t.Errorf("report.md lacks the peak run:\n%s", md)
	}
}

func TestReadSavedRejectsWhatIsNotARunFolder(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadSaved(dir); err == nil || !strings.Contains(err.Error(), "not a run folder") {
		t.Fatalf("empty folder: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{"runs": []}`), 0o644)
	if _, err := ReadSaved(dir); err == nil || !strings.Contains(err.Error(), "names no experiment") {
		t.Fatalf("summary without experiment: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "summary.json"), []byte(`{"experiment": "x", "verdict": "MAYBE"}`), 0o644)
	if _, err := ReadSaved(dir); err == nil || !strings.Contains(err.Error(), `status "MAYBE"`) {
		t.Fatalf("bad verdict: %v", err)
	}
}
