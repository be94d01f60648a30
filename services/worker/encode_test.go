package main

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// videoStatus is GET /videos/{id}'s answer.
type videoStatus struct {
	State      string   `json:"state"`
	Renditions []string `json:"renditions"`
	Pending    []string `json:"pending"`
}

func (r *rig) upload(t *testing.T, id int) {
	t.Helper()
	if code, body := r.call(t, http.MethodPut, "/videos/"+strconv.Itoa(id), ""); code != http.StatusCreated {
		t.Fatalf("PUT /videos/%d: %d %s", id, code, body)
	}
}

func (r *rig) status(t *testing.T, id int) (int, videoStatus) {
	t.Helper()
	code, body := r.call(t, http.MethodGet, "/videos/"+strconv.Itoa(id), "")
	var v videoStatus
	if code == http.StatusOK {
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
	}
	return code, v
}

// awaitState waits until video id's status page shows state.
func (r *rig) awaitState(t *testing.T, id int, state string, within time.Duration) videoStatus {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, v := r.status(t, id)
		if code == http.StatusOK && v.State == state {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("video %d: %d %+v after %v, want %q", id, code, v, within, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *rig) setSettings(t *testing.T, body string) {
	t.Helper()
	if code, b := r.call(t, http.MethodPut, "/admin/settings", body); code != http.StatusOK {
		t.Fatalf("PUT settings %s: %d %s", body, code, b)
	}
}

// renditionCounts is how many renditions the database holds and how many
// encodes made them.
func (r *rig) renditionCounts(t *testing.T, where string) (rows, encodes int64) {
	t.Helper()
	r.scan(t, `SELECT count(*), coalesce(sum(encodes), 0) FROM renditions WHERE `+where, &rows, &encodes)
	return rows, encodes
}

// Without protections a video is one job: its status page says not found
// until all four renditions are out together.
func TestEncodeOneJobPerVideo(t *testing.T) {
	r := newPipelineRig(t, pipelineEncode, "none")
	r.setSettings(t, `{"encode_unit":"20ms"}`) // a video holds an encoder 1 s
	r.upload(t, 1)
	if code, _ := r.status(t, 1); code != http.StatusNotFound {
		t.Fatalf("status of a video still encoding: %d, want 404 (the page knows only finished videos)", code)
	}
	v := r.awaitState(t, 1, "ready", 10*time.Second)
	if len(v.Renditions) != 4 {
		t.Errorf("ready with %v, want all four renditions", v.Renditions)
	}
	if rows, enc := r.renditionCounts(t, "video_id = 1"); rows != 4 || enc != 4 {
		t.Errorf("renditions %d from %d encodes, want 4 from 4", rows, enc)
	}
	// a repeated upload is not queued again
	if code, body := r.call(t, http.MethodPut, "/videos/1", ""); code != http.StatusOK {
		t.Errorf("repeated PUT: %d %s, want 200", code, body)
	}
	if code, _ := r.status(t, 999); code != http.StatusNotFound {
		t.Errorf("status of a video never uploaded: %d, want 404", code)
	}
}

// With lowest_first a new upload's 360p goes ahead of the HD renditions
// queued before it, and processing_state shows the video meanwhile.
func TestLowestFirstPlayableAheadOfHD(t *testing.T) {
	r := newPipelineRig(t, pipelineEncode, "lowest_first,processing_state")
	r.setSettings(t, `{"encode_unit":"10ms"}`) // HD of one video: 490 ms on one encoder
	const n = 8
	for id := 1; id <= n; id++ {
		r.upload(t, id)
	}
	r.upload(t, 100)
	if code, v := r.status(t, 100); code != http.StatusOK || (v.State != "processing" && v.State != "playable") {
		t.Fatalf("status of a fresh upload: %d %+v, want processing or playable", code, v)
	}
	v := r.awaitState(t, 100, "playable", 5*time.Second)
	if len(v.Renditions) != 1 || v.Renditions[0] != "360p" || len(v.Pending) != 3 {
		t.Errorf("playable with %v, pending %v: want 360p out and three pending", v.Renditions, v.Pending)
	}
	// two encoders, 8 videos of HD (~2 s of work for both) queued before
	if hd, _ := r.renditionCounts(t, "name <> '360p'"); hd >= 3*n {
		t.Errorf("%d HD renditions out before the last upload's 360p: it waited behind them", hd)
	}
	r.awaitState(t, 100, "ready", 20*time.Second)
	for id := 1; id <= n; id++ {
		r.awaitState(t, id, "ready", 20*time.Second)
	}
	if rows, enc := r.renditionCounts(t, "true"); rows != 4*(n+1) || enc != rows {
		t.Errorf("renditions %d from %d encodes, want %d from as many", rows, enc, 4*(n+1))
	}
}

// Autoscale doubles the encoders while the queue is older than scale_lag,
// up to the partition count.
func TestEncodeAutoscaleDoublesToPartitions(t *testing.T) {
	r := newPipelineRig(t, pipelineEncode, "autoscale,processing_state")
	r.setSettings(t, `{"encode_unit":"5ms","scale_lag":"200ms","scale_every":"100ms"}`)
	const n = 60 // 15 s of work on two encoders
	for id := 1; id <= n; id++ {
		r.upload(t, id)
	}
	for id := 1; id <= n; id++ {
		r.awaitState(t, id, "ready", 30*time.Second)
	}
	st := r.w.stats().Encoders
	if st == nil || st.Size != 6 || st.ScaleUps != 2 {
		t.Fatalf("encoders %+v, want 6 after two doublings (2, 4, 6: the partition count)", st)
	}
}

func TestVideoEndpointsRejectBadInput(t *testing.T) {
	r := newPipelineRig(t, pipelineEncode, "none")
	for _, c := range []struct{ method, path string }{
		{http.MethodPut, "/videos/abc"},
		{http.MethodPut, "/videos/-1"},
		{http.MethodGet, "/videos/1.5"},
		{http.MethodGet, "/videos/99999999999999999999"},
	} {
		if code, body := r.call(t, c.method, c.path, ""); code != http.StatusBadRequest {
			t.Errorf("%s %s: %d %s, want 400", c.method, c.path, code, body)
		}
	}
	if code, body := r.call(t, http.MethodPut, "/admin/settings", `{"encode_unit":"-1s"}`); code != http.StatusBadRequest {
		t.Errorf("negative encode_unit: %d %s, want 400", code, body)
	}
}
