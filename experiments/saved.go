package experiments

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// Saved is a run folder read back from its files: report.md and
// report.html are rendered from it, at the end of a run and by `whatif
// report DIR`, so both always show what the files hold.
type Saved struct {
	Report   SavedReport
	Lines    []TimelineLine
	Ablation *Ablation // nil unless `whatif ablate` wrote ablation.json
}

// SavedReport is summary.json.
type SavedReport struct {
	Experiment string     `json:"experiment"`
	Title      string     `json:"title"`
	Scenario   int        `json:"scenario"`
	Scale      float64    `json:"time_scale"`
	Started    time.Time  `json:"started"`
	Wall       float64    `json:"wall_seconds"`
	Verdict    Status     `json:"verdict"`
	Replays    int        `json:"replays"`
	Watch      []string   `json:"watch"`
	Gauges     []string   `json:"gauges"`
	Set        []string   `json:"set,omitempty"`
	Runs       []SavedRun `json:"runs"`
}

// SavedRun is one run of summary.json.
type SavedRun struct {
	Variant      Variant                `json:"variant"`
	Level        Level                  `json:"load"`
	Rate         float64                `json:"offered_rate"`
	Scale        float64                `json:"time_scale"` // 0 in reports saved before runs had their own
	Broken       []string               `json:"broken"`
	Started      time.Time              `json:"started"`
	Facts        map[string]any         `json:"facts"`
	Notes        []string               `json:"notes"`
	Outcomes     []Outcome              `json:"checks"`
	Status       Status                 `json:"status"`
	Err          string                 `json:"error"`
	Took         Took                   `json:"took_seconds"`
	Marks        map[string]float64     `json:"marks_seconds"`
	Phases       map[Phase]PhaseFigures `json:"phases"`
	FirstAttempt *SavedRun              `json:"first_attempt"`
}

// Name is the run's variant/load, as the timeline names it.
func (r SavedRun) Name() string { return Cell{r.Variant, r.Level}.String() }

// PhaseFigures are the client's figures over one phase's window.
type PhaseFigures struct {
	Offered  float64 `json:"offered_per_s"`
	OK       float64 `json:"ok_per_s"`
	Errors   float64 `json:"error_rate"`
	Degraded float64 `json:"degraded_rate"`
	Dropped  int64   `json:"dropped"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
}

func phaseFigures(s loadgen.Summary) PhaseFigures {
	return PhaseFigures{Offered: s.Rate, OK: s.Achieved, Errors: s.ErrorRate, Degraded: s.DegradedRate, Dropped: s.Dropped,
		P50: ms(s.P50), P99: ms(s.P99), Max: ms(s.Max)}
}

// TimelineLine is one line of timeline.jsonl: a scheduled second of a run.
type TimelineLine struct {
	Run     string             `json:"run"`
	Second  int                `json:"second"`
	Phase   string             `json:"phase"`
	Client  loadgen.Second     `json:"client"`
	API     map[string]float64 `json:"api"`
	APIText map[string]string  `json:"api_text"`
	BoxLate float64            `json:"box_late_ms"` // how late the runner woke in this second (boxclock.go)
}

// ReadSaved reads a run folder: summary.json and timeline.jsonl, and
// ablation.json where there is one.
func ReadSaved(dir string) (*Saved, error) {
	var s Saved
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		return nil, fmt.Errorf("not a run folder: %w", err)
	}
	if err := json.Unmarshal(b, &s.Report); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "summary.json"), err)
	}
	if s.Report.Experiment == "" {
		return nil, fmt.Errorf("%s names no experiment: not a whatif summary", filepath.Join(dir, "summary.json"))
	}
	f, err := os.Open(filepath.Join(dir, "timeline.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for n := 1; sc.Scan(); n++ {
		var l TimelineLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("timeline.jsonl line %d: %w", n, err)
		}
		s.Lines = append(s.Lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("timeline.jsonl: %w", err)
	}
	b, err = os.ReadFile(filepath.Join(dir, "ablation.json"))
	switch {
	case err == nil:
		s.Ablation = &Ablation{}
		if err := json.Unmarshal(b, s.Ablation); err != nil {
			return nil, fmt.Errorf("ablation.json: %w", err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	return &s, nil
}

// UnmarshalText reads a status back from summary.json.
func (s *Status) UnmarshalText(b []byte) error {
	for _, st := range []Status{Pass, Fail, Unknown} {
		if st.String() == string(b) {
			*s = st
			return nil
		}
	}
	return fmt.Errorf("status %q: want PASS, FAIL or UNKNOWN", b)
}
