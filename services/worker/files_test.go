package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/whatif-lab/whatif/services/worker/knob"
)

func testPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 40, 30))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (r *rig) putFile(t *testing.T, id int, body []byte) {
	t.Helper()
	if code, b := r.call(t, http.MethodPut, "/files/"+strconv.Itoa(id), string(body)); code != http.StatusCreated {
		t.Fatalf("PUT /files/%d: %d %s", id, code, b)
	}
}

// processed is how many files have their last step done, and the side
// effects done more than once.
func (r *rig) processed(t *testing.T) (files, repeats int64) {
	t.Helper()
	r.scan(t, `SELECT count(*) FILTER (WHERE step = 'moderate'), coalesce(sum(times - 1), 0) FROM file_effects`, &files, &repeats)
	return files, repeats
}

func (r *rig) awaitProcessed(t *testing.T, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, _ := r.processed(t)
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d files processed within %v", got, n, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *rig) deadLetters(t *testing.T) deadLetters {
	t.Helper()
	code, body := r.call(t, http.MethodGet, "/admin/dead-letters", "")
	if code != http.StatusOK {
		t.Fatalf("GET /admin/dead-letters: %d %s", code, body)
	}
	var d deadLetters
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (r *rig) repair(t *testing.T, id int, body []byte) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, r.pg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, `UPDATE files SET body = $1 WHERE id = $2`, body, id); err != nil {
		t.Fatal(err)
	}
}

// A corrupt file goes to the dead-letter topic after three attempts while
// the others pass; the alert fires; after the repair a replay processes
// it, and no side effect happens twice.
func TestCorruptFileIsDeadLetteredAndReplayed(t *testing.T) {
	r := newPipelineRig(t, pipelineFiles, "all")
	r.setSettings(t, `{"scale_every":"50ms"}`)
	good := testPNG(t)
	const corrupt = 7
	for id := 1; id <= 12; id++ {
		body := good
		if id == corrupt {
			body = good[:len(good)/2]
		}
		r.putFile(t, id, body)
	}
	r.awaitProcessed(t, 11, 20*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	var d deadLetters
	for d = r.deadLetters(t); d.Records == 0 && time.Now().Before(deadline); d = r.deadLetters(t) {
		time.Sleep(50 * time.Millisecond)
	}
	if d.Records != 1 || d.Waiting != 1 || len(d.IDs) != 1 || d.IDs[0] != corrupt {
		t.Fatalf("dead letters %+v, want file %d alone, waiting", d, corrupt)
	}
	st := r.w.stats()
	if g := st.Groups["process"]; g.DeadLetters != 1 || g.StepErrors != deadLetterAfter {
		t.Errorf("group stats %+v: want 1 dead letter after %d step errors", g, deadLetterAfter)
	}
	for deadline := time.Now().Add(5 * time.Second); !r.w.alert.stats().Firing; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the alert did not fire while a dead letter waited")
		}
	}
	r.repair(t, corrupt, good)
	code, body := r.call(t, http.MethodPost, "/admin/dead-letters/replay", "")
	if code != http.StatusOK || !strings.Contains(string(body), `"replayed":1`) {
		t.Fatalf("replay: %d %s", code, body)
	}
	r.awaitProcessed(t, 12, 20*time.Second)
	if _, repeats := r.processed(t); repeats != 0 {
		t.Errorf("%d side effects repeated; the replayed file's scan had a marker", repeats)
	}
	if d := r.deadLetters(t); d.Waiting != 0 || d.Replayed != 1 {
		t.Errorf("after the replay: %+v, want 1 replayed, 0 waiting", d)
	}
	for deadline := time.Now().Add(5 * time.Second); r.w.alert.stats().Firing; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the alert still fires after the replay: %+v", r.w.alert.stats())
		}
	}
	if code, body := r.call(t, http.MethodPost, "/admin/dead-letters/replay", ""); code != http.StatusOK || !strings.Contains(string(body), `"replayed":0`) {
		t.Errorf("a second replay: %d %s, want 0 replayed", code, body)
	}
}

// Without dead_letter a corrupt file is tried in place: the files behind
// it on its partition wait until it is repaired, the others pass.
func TestCorruptFileStopsItsPartitionWithoutDeadLetter(t *testing.T) {
	r := newPipelineRig(t, pipelineFiles, "none")
	// one member per partition: a single member working them all would
	// stop them all
	if code, b := r.call(t, http.MethodPut, "/admin/members", `{"members":6}`); code != http.StatusOK {
		t.Fatalf("PUT members: %d %s", code, b)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if g := r.w.stats().Groups["process"]; g.Members == 6 && g.Idle == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members not settled: %+v", r.w.stats().Groups["process"])
		}
	}
	good := testPNG(t)
	r.putFile(t, 1, good[:len(good)/2])
	const n = 30
	for id := 2; id <= n+1; id++ {
		r.putFile(t, id, good)
	}
	// with 6 partitions some of the 30 share the corrupt file's
	deadline := time.Now().Add(20 * time.Second)
	for {
		done, _ := r.processed(t)
		if done > 0 && done < n && r.w.stats().Groups["process"].StepErrors >= 5 {
			time.Sleep(500 * time.Millisecond)
			if again, _ := r.processed(t); again == done {
				break // the rest wait behind the corrupt file
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d healthy files processed, step errors %d: want some, not all, and the corrupt one retried",
				done, n, r.w.stats().Groups["process"].StepErrors)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.repair(t, 1, good)
	r.awaitProcessed(t, n+1, 20*time.Second)
	if d := r.deadLetters(t); d.Records != 0 {
		t.Errorf("dead letters %+v without dead_letter", d)
	}
	if r.w.alert.stats().Raised != 0 {
		t.Error("the alert fired with depth_alert off")
	}
}

// A step done again repeats its side effect unless idempotent_steps lets
// it find its own marker first.
func TestFileStepsRepeatUnlessIdempotent(t *testing.T) {
	r := newPipelineRig(t, pipelineFiles, "none")
	r.w.stopGroups() // the steps are called directly
	r.putFile(t, 1, testPNG(t))
	pool, err := pgxpool.New(context.Background(), r.pg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for _, tc := range []struct {
		on   string
		want int64
	}{{"none", 2}, {"idempotent_steps", 0}} {
		r.scan(t, `WITH d AS (DELETE FROM file_effects RETURNING 1) SELECT count(*) FROM d`, new(int64))
		p := newProtections(filesPipeline.protections)
		on, err := p.Parse(tc.on)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Apply(on); err != nil {
			t.Fatal(err)
		}
		env := stepEnv{group: "process", db: pool, settings: newSettings(knob.All.Defaults()), prot: p}
		for range 3 {
			for _, s := range fileSteps {
				if err := s(context.Background(), env, event{id: 1}); err != nil {
					t.Fatal(err)
				}
			}
		}
		var repeats int64
		r.scan(t, `SELECT coalesce(sum(times - 1), 0) FROM file_effects WHERE step = 'resize'`, &repeats)
		if repeats != tc.want {
			t.Errorf("protections %s: resize repeated %d times over 3 runs, want %d", tc.on, repeats, tc.want)
		}
	}
}

func TestFileUploadRejectsBadInput(t *testing.T) {
	r := newPipelineRig(t, pipelineFiles, "all")
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{"/files/abc", "x", http.StatusBadRequest},
		{"/files/-1", "x", http.StatusBadRequest},
		{"/files/3", "", http.StatusBadRequest},
		{"/files/4", strings.Repeat("x", maxFileBytes+1), http.StatusBadRequest},
	} {
		if code, body := r.call(t, http.MethodPut, tc.path, tc.body); code != tc.want {
			t.Errorf("PUT %s (%d bytes): %d %s, want %d", tc.path, len(tc.body), code, body, tc.want)
		}
	}
	if code, _ := r.call(t, http.MethodPost, "/admin/dead-letters/replay", "{}"); code != http.StatusOK {
		t.Errorf("replay of an empty dead-letter topic: %d, want 200", code)
	}
	ev := newPipelineRig(t, pipelineEvents, "all")
	if code, _ := ev.call(t, http.MethodGet, "/admin/dead-letters", ""); code != http.StatusNotFound {
		t.Errorf("GET /admin/dead-letters on a pipeline without one: %d, want 404", code)
	}
}
