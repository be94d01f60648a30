package experiments

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A replay never hides the first attempt: summary.json, junit.xml and
// report.md keep it, and the report counts it.
func TestReplayKeepsTheFirstAttempt(t *testing.T) {
	first := &Run{Variant: Protected, Level: Peak, FaultAt: 5 * time.Second, End: 25 * time.Second,
		Outcomes: []Outcome{{Check: "client error rate", Status: Unknown, Measured: "3.00%", Threshold: "<= 1.00%", Detail: "weak baseline: 12% errors"}}}
	second := &Run{Variant: Protected, Level: Peak, Status: Pass, FirstAttempt: first,
		Outcomes: []Outcome{{Check: "client error rate", Status: Pass, Measured: "0.00%", Threshold: "<= 1.00%"}}}
	rep := (&Report{Experiment: "x", Started: time.Now(), Runs: []*Run{second}}).done()
	if rep.Replays != 1 || rep.Verdict != Pass {
		t.Fatalf("replays %d, verdict %s; want 1, PASS", rep.Replays, rep.Verdict)
	}
	var md, junit, js bytes.Buffer
	if err := rep.writeMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	if err := rep.writeJUnit(&junit); err != nil {
		t.Fatal(err)
	}
	if err := json.NewEncoder(&js).Encode(rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ file, got, want string }{
		{"report.md", md.String(), "Runs replayed after a weak baseline: 1."},
		{"report.md", md.String(), "First attempt, replaced because its baseline was weak (fault at 5.0s, end 25.0s)"},
		{"report.md", md.String(), "| client error rate | UNKNOWN | 3.00% | <= 1.00% | weak baseline: 12% errors |"},
		{"junit.xml", junit.String(), `classname="x.protected.peak.first-attempt" name="client error rate"`},
		{"junit.xml", junit.String(), `<skipped message="replayed: the baseline was weak; this attempt measured 3.00%, needs &lt;= 1.00%">`},
		{"junit.xml", junit.String(), `failures="0"`},
		{"summary.json", js.String(), `"first_attempt":{"variant":"protected"`},
		{"summary.json", js.String(), `"replays":1`},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s lacks %q:\n%s", c.file, c.want, c.got)
		}
	}
}
