package loadgen

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// res builds a completed result scheduled at off with the given outcome.
func res(op string, off, latency time.Duration, code int, class string) Result {
	r := Result{Op: op, Scheduled: t0.Add(off), Sent: t0.Add(off), Latency: latency, Code: code, ErrClass: class, Attempts: 1}
	if class != ClassNone && code == 0 {
		r.Err = class
	}
	return r
}

func TestTimelineBucketsByScheduledSecond(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		results []Result
		want    map[int]int64 // second -> completed
	}{
		{"in order", []Result{res("a", 0, ms, 200, ""), res("a", 999*ms, ms, 200, ""), res("a", time.Second, ms, 200, "")},
			map[int]int64{0: 2, 1: 1}},
		{"slow answer stays in its scheduled second", []Result{res("a", 100*ms, 5*time.Second, 200, "")},
			map[int]int64{0: 1}},
		{"late second first", []Result{res("a", 3500*ms, ms, 200, ""), res("a", 10*ms, ms, 200, "")},
			map[int]int64{0: 1, 3: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTimeline(t0, 4*time.Second)
			for _, r := range tc.results {
				tl.record(r)
			}
			for _, sec := range tl.Seconds() {
				if got := sec.All.Completed; got != tc.want[sec.Second] {
					t.Errorf("second %d: %d completed, want %d", sec.Second, got, tc.want[sec.Second])
				}
			}
		})
	}
}

func TestTimelineWindow(t *testing.T) {
	ms := time.Millisecond
	tl := newTimeline(t0, 3*time.Second)
	// Second 0: op "read" 10 offered, 10 sent, 8 x 200 at 1..8 ms, 1 x 503, 1 timeout.
	for i := range 10 {
		tl.offer(time.Duration(i)*100*ms, "read")
		tl.send(time.Duration(i)*100*ms, "read")
	}
	for i := 1; i <= 8; i++ {
		tl.record(res("read", time.Duration(i)*100*ms, time.Duration(i)*ms, 200, ""))
	}
	tl.record(res("read", 50*ms, 100*ms, 503, ClassHTTP5xx))
	timeout := res("read", 60*ms, time.Second, 0, ClassTimeout)
	timeout.Attempts = 3
	tl.record(timeout)
	// Second 1: op "write" 4 offered, 2 dropped, 1 degraded 200, 1 degraded 503.
	for i := range 4 {
		tl.offer(time.Second+time.Duration(i)*ms, "write")
	}
	tl.drop(time.Second, "write")
	tl.drop(time.Second, "write")
	tl.send(time.Second, "write")
	tl.send(time.Second, "write")
	d1 := res("write", time.Second, 2*ms, 200, "")
	d1.Degraded = true
	d2 := res("write", time.Second, 3*ms, 503, ClassHTTP5xx)
	d2.Degraded = true
	tl.record(d1)
	tl.record(d2)
	// Second 2: a canceled request (run stopped) of op "read".
	tl.offer(2*time.Second, "read")
	tl.send(2*time.Second, "read")
	tl.record(res("read", 2*time.Second, ms, 0, ClassCanceled))

	tests := []struct {
		name     string
		from, to time.Duration
		ops      []string
		want     Summary // only the fields checked below
	}{
		{"second 0", 0, time.Second, nil, Summary{
			Offered: 10, Sent: 10, Completed: 10, OK: 8, Attempts: 12,
			Errors: map[string]int64{ClassHTTP5xx: 1, ClassTimeout: 1}, Codes: map[int]int64{200: 8, 503: 1},
			ErrorRate: 0.2, Rate: 10, Achieved: 8, P50: 5 * ms, P90: 100 * ms, Max: time.Second}},
		{"second 1", time.Second, 2 * time.Second, nil, Summary{
			Offered: 4, Sent: 2, Dropped: 2, Completed: 2, OK: 1, Degraded: 2, Attempts: 2,
			Errors: map[string]int64{}, Codes: map[int]int64{200: 1, 503: 1},
			DegradedRate: 1, Rate: 4, Achieved: 1, P50: 2 * ms, P90: 3 * ms, Max: 3 * ms}},
		{"all seconds, write only", 0, time.Hour, []string{"write"}, Summary{Op: "write",
			Offered: 4, Sent: 2, Dropped: 2, Completed: 2, OK: 1, Degraded: 2, Attempts: 2,
			Errors: map[string]int64{}, Codes: map[int]int64{200: 1, 503: 1},
			DegradedRate: 1, Rate: 4.0 / 3, Achieved: 1.0 / 3, P50: 2 * ms, P90: 3 * ms, Max: 3 * ms}},
		{"canceled is neither completed nor an error", 2 * time.Second, 3 * time.Second, []string{"read"}, Summary{Op: "read",
			Offered: 1, Sent: 1, Canceled: 1, Attempts: 1, Errors: map[string]int64{}, Codes: map[int]int64{}, Rate: 1}},
		{"from rounds up to whole seconds", 500 * ms, 2 * time.Second, nil, Summary{
			Offered: 4, Sent: 2, Dropped: 2, Completed: 2, OK: 1, Degraded: 2, Attempts: 2,
			Errors: map[string]int64{}, Codes: map[int]int64{200: 1, 503: 1},
			DegradedRate: 1, Rate: 4, Achieved: 1, P50: 2 * ms, P90: 3 * ms, Max: 3 * ms}},
		{"empty window", 5 * time.Second, 9 * time.Second, nil, Summary{Errors: map[string]int64{}, Codes: map[int]int64{}}},
		{"second 0 left out: rates over the seconds kept", 0, 2 * time.Second, nil, Summary{Skipped: 1,
			Offered: 4, Sent: 2, Dropped: 2, Completed: 2, OK: 1, Degraded: 2, Attempts: 2,
			Errors: map[string]int64{}, Codes: map[int]int64{200: 1, 503: 1},
			DegradedRate: 1, Rate: 4, Achieved: 1, P50: 2 * ms, P90: 3 * ms, Max: 3 * ms}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var skip map[int]bool
			if tc.want.Skipped > 0 {
				skip = map[int]bool{0: true}
			}
			got := tl.WindowWithout(tc.from, tc.to, skip, tc.ops...)
			if got.Skipped != tc.want.Skipped {
				t.Errorf("Skipped = %d, want %d", got.Skipped, tc.want.Skipped)
			}
			checkSummary(t, got, tc.want)
		})
	}
}

func checkSummary(t *testing.T, got, want Summary) {
	t.Helper()
	type num struct {
		name      string
		got, want float64
	}
	nums := []num{
		{"Offered", float64(got.Offered), float64(want.Offered)},
		{"Sent", float64(got.Sent), float64(want.Sent)},
		{"Dropped", float64(got.Dropped), float64(want.Dropped)},
		{"Completed", float64(got.Completed), float64(want.Completed)},
		{"OK", float64(got.OK), float64(want.OK)},
		{"Degraded", float64(got.Degraded), float64(want.Degraded)},
		{"Canceled", float64(got.Canceled), float64(want.Canceled)},
		{"Attempts", float64(got.Attempts), float64(want.Attempts)},
		{"ErrorRate", got.ErrorRate, want.ErrorRate},
		{"DegradedRate", got.DegradedRate, want.DegradedRate},
		{"Rate", got.Rate, want.Rate},
		{"Achieved", got.Achieved, want.Achieved},
	}
	for _, n := range nums {
		if diff := n.got - n.want; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s = %v, want %v", n.name, n.got, n.want)
		}
	}
	if got.Op != want.Op {
		t.Errorf("Op = %q, want %q", got.Op, want.Op)
	}
	if !mapsEqual(got.Errors, want.Errors) || !mapsEqual(got.Codes, want.Codes) {
		t.Errorf("Errors %v Codes %v, want %v %v", got.Errors, got.Codes, want.Errors, want.Codes)
	}
	// HDR keeps 3 significant figures: compare within 0.1%.
	lat := []struct {
		name      string
		got, want time.Duration
	}{{"P50", got.P50, want.P50}, {"P90", got.P90, want.P90}, {"Max", got.Max, want.Max}}
	for _, l := range lat {
		if d := l.got - l.want; d < 0 || d > l.want/1000+time.Microsecond {
			t.Errorf("%s = %v, want %v (HDR rounds up by < 0.1%%)", l.name, l.got, l.want)
		}
	}
}

func mapsEqual[K comparable](a, b map[K]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestTimelineFreezeKeepsPercentiles(t *testing.T) {
	tests := []struct {
		name  string
		thaw  bool // a straggler arrives after freezing
		count int64
	}{{"frozen", false, 1000}, {"thawed by a straggler", true, 1001}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := newTimeline(t0, time.Second)
			for i := range 1000 {
				tl.record(res("a", 0, time.Duration(i*i)*time.Microsecond, 200, ""))
			}
			before := tl.Window(0, time.Second)
			tl.freezeAll()
			if tl.secs[0]["a"].live != nil {
				t.Fatal("histogram still live after freezeAll")
			}
			after := tl.Window(0, time.Second)
			if after.P50 != before.P50 || after.P99 != before.P99 || after.P999 != before.P999 || after.Max != before.Max {
				t.Fatalf("freezing changed percentiles: %+v vs %+v", after, before)
			}
			if tc.thaw {
				tl.record(res("a", 0, time.Microsecond, 200, ""))
				after = tl.Window(0, time.Second)
			}
			if after.Completed != tc.count || after.Max != before.Max {
				t.Errorf("completed=%d max=%v, want %d %v", after.Completed, after.Max, tc.count, before.Max)
			}
		})
	}
}

func TestTimelineJSONLines(t *testing.T) {
	tl := newTimeline(t0, 2*time.Second)
	tl.offer(0, "read")
	tl.send(0, "read")
	tl.record(res("read", 0, 1500*time.Microsecond, 200, ""))
	tl.offer(time.Second, "write")
	tl.drop(time.Second, "write")
	var buf bytes.Buffer
	if err := tl.WriteJSONLines(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	tests := []struct {
		second        int
		op            string
		offered, sent float64
		dropped, p50  float64
	}{{0, "read", 1, 1, 0, 1.5}, {1, "write", 1, 0, 1, 0}}
	if len(lines) != len(tests) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tests), buf.String())
	}
	for i, tc := range tests {
		var row map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &row); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"errors", "codes", "attempts", "ok", "degraded", "p90_ms", "p99_ms", "p999_ms", "max_ms"} {
			if _, ok := row[k]; !ok {
				t.Errorf("line %d lacks %q: %s", i, k, lines[i])
			}
		}
		if row["second"] != float64(tc.second) || row["op"] != tc.op || row["offered"] != tc.offered ||
			row["sent"] != tc.sent || row["dropped"] != tc.dropped {
			t.Errorf("line %d = %s", i, lines[i])
		}
		if p50 := row["p50_ms"].(float64); p50 < tc.p50 || p50 > tc.p50*1.001 {
			t.Errorf("line %d p50_ms = %v, want ~%v", i, p50, tc.p50)
		}
	}
	// Second values encode too (the per-second console form).
	if _, err := json.Marshal(tl.Seconds()); err != nil {
		t.Fatal(err)
	}
}

// The wire form reads back to the same summary (latencies in whole
// nanoseconds survive the milliseconds).
func TestSummaryJSONRoundTrip(t *testing.T) {
	in := Summary{Op: "write", Offered: 60, Sent: 59, Dropped: 1, Completed: 50, OK: 40, Degraded: 2, Canceled: 3, Attempts: 70,
		Errors: map[string]int64{"timeout": 10}, Codes: map[int]int64{200: 40, 503: 10}, ErrorRate: 0.2, DegradedRate: 0.04,
		Rate: 60, Achieved: 40, P50: 3 * time.Millisecond, P90: 250 * time.Millisecond, P99: 2 * time.Second, P999: 2001 * time.Millisecond, Max: 2002 * time.Millisecond}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out Summary
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the summary:\n in %+v\nout %+v", in, out)
	}
}
