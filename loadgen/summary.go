package loadgen

import (
	"encoding/json"
	"io"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Summary aggregates a set of buckets (a window, a second, one op or all).
type Summary struct {
	Op       string        // op name, "a+b" for a selection, "" for all ops
	From, To time.Duration // scheduled-time span covered, relative to the start
	Skipped  int           // seconds of that span left out (Timeline.WindowWithout)

	Offered   int64 // scheduled
	Sent      int64 // went out (first attempt)
	Dropped   int64 // never sent: no free worker in time, or the run stopped
	Completed int64 // sent and finished, excluding Canceled
	OK        int64 // 2xx without error (degraded 2xx included)
	Degraded  int64 // answered with X-Degraded: 1; never counted as an error
	Canceled  int64 // cut short because the run was stopped
	Attempts  int64 // all attempts incl. retries: amplification = Attempts/Sent
	Errors    map[string]int64
	Codes     map[int]int64

	ErrorRate    float64 // errors (non-OK, non-degraded) / Completed
	DegradedRate float64 // Degraded / Completed
	Rate         float64 // offered per second
	Achieved     float64 // OK per second

	// Latency of completed requests, from scheduled send to the end of the
	// last attempt.
	P50, P90, P99, P999, Max time.Duration
}

func newSummary(op string) Summary {
	return Summary{Op: op, Errors: map[string]int64{}, Codes: map[int]int64{}}
}

func opLabel(ops []string) string { return strings.Join(ops, "+") }

// add folds bucket b into s and its latencies into h.
func (s *Summary) add(b *bucket, h *hdrhistogram.Histogram) {
	s.Offered += b.offered
	s.Sent += b.sent
	s.Dropped += b.dropped
	s.Completed += b.completed
	s.OK += b.ok
	s.Degraded += b.degraded
	s.Canceled += b.canceled
	s.Attempts += b.attempts
	for k, v := range b.errors {
		s.Errors[k] += v
	}
	for k, v := range b.codes {
		s.Codes[k] += v
	}
	b.mergeInto(h)
}

// finish derives rates and percentiles once all buckets are in.
func (s *Summary) finish(h *hdrhistogram.Histogram) {
	var errs int64
	for _, v := range s.Errors {
		errs += v
	}
	if s.Completed > 0 {
		s.ErrorRate = float64(errs) / float64(s.Completed)
		s.DegradedRate = float64(s.Degraded) / float64(s.Completed)
	}
	if span := (s.To - s.From).Seconds() - float64(s.Skipped); span > 0 {
		s.Rate = float64(s.Offered) / span
		s.Achieved = float64(s.OK) / span
	}
	if h.TotalCount() > 0 {
		us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
		s.P50 = us(h.ValueAtQuantile(50))
		s.P90 = us(h.ValueAtQuantile(90))
		s.P99 = us(h.ValueAtQuantile(99))
		s.P999 = us(h.ValueAtQuantile(99.9))
		s.Max = us(h.Max())
	}
}

// Amplification is attempts per sent request (1 = no retries).
func (s Summary) Amplification() float64 {
	if s.Sent == 0 {
		return 0
	}
	return float64(s.Attempts) / float64(s.Sent)
}

// summaryJSON is the wire form: latencies in milliseconds, names that say
// their unit.
type summaryJSON struct {
	Second       *int             `json:"second,omitempty"`
	Op           string           `json:"op"`
	Offered      int64            `json:"offered"`
	Sent         int64            `json:"sent"`
	Dropped      int64            `json:"dropped"`
	Completed    int64            `json:"completed"`
	OK           int64            `json:"ok"`
	Degraded     int64            `json:"degraded"`
	Canceled     int64            `json:"canceled"`
	Attempts     int64            `json:"attempts"`
	Errors       map[string]int64 `json:"errors"`
	Codes        map[int]int64    `json:"codes"`
	ErrorRate    float64          `json:"error_rate"`
	DegradedRate float64          `json:"degraded_rate"`
	Rate         float64          `json:"rate"`
	Achieved     float64          `json:"achieved"`
	P50          float64          `json:"p50_ms"`
	P90          float64          `json:"p90_ms"`
	P99          float64          `json:"p99_ms"`
	P999         float64          `json:"p999_ms"`
	Max          float64          `json:"max_ms"`
}

func (s Summary) wire() summaryJSON {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return summaryJSON{
		Op: s.Op, Offered: s.Offered, Sent: s.Sent, Dropped: s.Dropped, Completed: s.Completed,
		OK: s.OK, Degraded: s.Degraded, Canceled: s.Canceled, Attempts: s.Attempts,
		Errors: s.Errors, Codes: s.Codes, ErrorRate: s.ErrorRate, DegradedRate: s.DegradedRate,
		Rate: s.Rate, Achieved: s.Achieved,
		P50: ms(s.P50), P90: ms(s.P90), P99: ms(s.P99), P999: ms(s.P999), Max: ms(s.Max),
	}
}

// MarshalJSON encodes latencies as milliseconds (p50_ms, ..., max_ms).
func (s Summary) MarshalJSON() ([]byte, error) { return json.Marshal(s.wire()) }

// UnmarshalJSON reads the wire form back (`whatif report` rebuilds
// reports from timeline.jsonl).
func (s *Summary) UnmarshalJSON(b []byte) error {
	var w summaryJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	*s = Summary{
		Op: w.Op, Offered: w.Offered, Sent: w.Sent, Dropped: w.Dropped, Completed: w.Completed,
		OK: w.OK, Degraded: w.Degraded, Canceled: w.Canceled, Attempts: w.Attempts,
		Errors: w.Errors, Codes: w.Codes, ErrorRate: w.ErrorRate, DegradedRate: w.DegradedRate,
		Rate: w.Rate, Achieved: w.Achieved,
		P50: d(w.P50), P90: d(w.P90), P99: d(w.P99), P999: d(w.P999), Max: d(w.Max),
	}
	return nil
}

// WriteJSONLines writes the timeline as JSON lines, one object per scheduled
// second and op: {"second":3,"op":"read","offered":...,"p99_ms":...}.
func (t *Timeline) WriteJSONLines(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, sec := range t.Seconds() {
		for _, s := range sec.Ops {
			row := s.wire()
			row.Second = &sec.Second
			if err := enc.Encode(row); err != nil {
				return err
			}
		}
	}
	return nil
}
