package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/whatif-lab/whatif/services/internal/testpg"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

// rig is a worker over an in-process broker (kfake, the broker our stack
// runs) and a real Postgres, with its admin endpoints served.
type rig struct {
	w    *worker
	srv  *httptest.Server
	prod *kgo.Client
	pg   string
	stop func() // ends the worker; safe to call again
}

func newRig(t *testing.T, protections string) *rig {
	t.Helper()
	return newPipelineRig(t, pipelineEvents, protections)
}

// newPipelineRig is a rig running the named pipeline over its own topic.
func newPipelineRig(t *testing.T, pipeline, protections string) *rig {
	t.Helper()
	pg, broker := newBackends(t)
	cfg := rigFlags(pg, broker, pipeline, protections)
	if pipelines[pipeline].gated {
		cfg.members = cfg.partitions // members only read; the encoders are the capacity
	}
	return serveWorker(t, cfg)
}

// newBackends starts a real Postgres and an in-process broker for one
// test; both end with it.
func newBackends(t *testing.T) (pgDSN, broker string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	pg, err := testpg.Start()
	if errors.Is(err, testpg.ErrMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(6))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	return pg.DSN, cluster.ListenAddrs()[0]
}

func rigFlags(pg, broker, pipeline, protections string) flags {
	cfg := flags{
		broker: broker, pg: pg, pipeline: pipeline, topic: pipelines[pipeline].topic,
		partitions: 6, members: 1, encoders: 2, protections: protections, startup: 10 * time.Second,
		knobs: knob.All.Defaults(),
	}
	cfg.knobs[knob.RecordCost] = 2 * time.Millisecond
	return cfg
}

// serveWorker starts a worker as main does and serves its endpoints; it
// stops when stop is called or the test ends.
func serveWorker(t *testing.T, cfg flags) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := newWorker(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	r := &rig{w: w, pg: cfg.pg}
	var once sync.Once
	r.stop = func() { once.Do(func() { cancel(); w.close() }) }
	t.Cleanup(r.stop)
	if err := w.rebuild(cfg.members); err != nil {
		t.Fatal(err)
	}
	go w.watchLag(ctx)
	go w.autoscale(ctx)
	go w.watchAlert(ctx)
	r.srv = httptest.NewServer(w.routes(""))
	t.Cleanup(r.srv.Close)
	if cfg.topic == "" {
		return r // a pipeline without a topic: nothing to produce to
	}
	if r.prod, err = kgo.NewClient(kgo.SeedBrokers(cfg.broker), kgo.DefaultProduceTopic(cfg.topic), kgo.RequiredAcks(kgo.AllISRAcks())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.prod.Close)
	return r
}

// produce sends events ids lo..hi and waits for the broker's acks.
func (r *rig) produce(t *testing.T, lo, hi int64) {
	t.Helper()
	var recs []*kgo.Record
	for id := lo; id <= hi; id++ {
		recs = append(recs, &kgo.Record{Key: []byte(strconv.FormatInt(id, 10)), Value: []byte("{}")})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) call(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// awaitFinished waits until group has finished n distinct events.
func (r *rig) awaitFinished(t *testing.T, group string, n int, within time.Duration) ledgerReport {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, body := r.call(t, http.MethodGet, "/admin/consumed?group="+group, "")
		var rep ledgerReport
		if code == http.StatusOK {
			if err := json.Unmarshal(body, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Distinct >= n {
				return rep
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s finished %d of %d events within %v (last answer %d %s)", group, rep.Distinct, n, within, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// scan runs one query on the rig's Postgres and scans its one row.
func (r *rig) scan(t *testing.T, sql string, dest ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, r.pg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, sql).Scan(dest...); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) analyticsRows(t *testing.T, group string) (rows, writes int64) {
	t.Helper()
	r.scan(t, `SELECT count(*), coalesce(sum(writes), 0) FROM event_analytics WHERE grp = '`+group+`'`, &rows, &writes)
	return rows, writes
}

func TestOneGroupDoesBothSteps(t *testing.T) {
	r := newRig(t, "none")
	r.produce(t, 1, 300)
	rep := r.awaitFinished(t, "events", 300, 30*time.Second)
	if len(rep.Repeated) != 0 || len(rep.Ranges) != 1 || rep.Ranges[0] != [2]int64{1, 300} {
		t.Errorf("finished %v, repeated %v: want 1..300 exactly once", rep.Ranges, rep.Repeated)
	}
	if rows, writes := r.analyticsRows(t, "events"); rows != 300 || writes != 300 {
		t.Errorf("analytics rows %d writes %d, want 300 each", rows, writes)
	}
}

func TestSplitGroupsAndReset(t *testing.T) {
	r := newRig(t, "none")
	r.produce(t, 1, 50)
	r.awaitFinished(t, "events", 50, 30*time.Second)
	if code, body := r.call(t, http.MethodPut, "/admin/protections", `{"split_groups":true}`); code != http.StatusOK {
		t.Fatalf("PUT protections: %d %s", code, body)
	}
	if code, body := r.call(t, http.MethodPost, "/admin/reset", ""); code != http.StatusOK {
		t.Fatalf("reset: %d %s", code, body)
	}
	r.produce(t, 1001, 1200)
	for _, g := range []string{"notify", "analytics"} {
		rep := r.awaitFinished(t, g, 200, 30*time.Second)
		// the reset emptied the topic: nothing from before it comes back
		if len(rep.Repeated) != 0 || len(rep.Ranges) != 1 || rep.Ranges[0] != [2]int64{1001, 1200} {
			t.Errorf("%s finished %v, repeated %v: want 1001..1200 exactly once", g, rep.Ranges, rep.Repeated)
		}
	}
	if rows, _ := r.analyticsRows(t, "analytics"); rows != 200 {
		t.Errorf("analytics rows %d, want 200", rows)
	}
	if rows, _ := r.analyticsRows(t, "events"); rows != 0 {
		t.Errorf("the reset left %d rows of the old group", rows)
	}
	if code, _ := r.call(t, http.MethodGet, "/admin/consumed?group=events", ""); code != http.StatusBadRequest {
		t.Errorf("a group no longer running answered %d, want 400", code)
	}
}

// Autoscale follows the lag up to the partition count and no further:
// one member writes at most 1/record_cost a second.
func TestAutoscaleStopsAtPartitions(t *testing.T) {
	r := newRig(t, "autoscale")
	if code, b := r.call(t, http.MethodPut, "/admin/settings", `{"record_cost":"20ms","scale_lag":"200ms","scale_every":"100ms"}`); code != http.StatusOK {
		t.Fatalf("PUT settings: %d %s", code, b)
	}
	r.produce(t, 1, 600) // 12 s of work for one member
	r.awaitFinished(t, "events", 600, 60*time.Second)
	st := r.w.stats().Groups["events"]
	if st.Members != 6 || st.ScaleUps != 5 {
		t.Errorf("members %d after %d scale-ups, want 6 after 5 (the partition count)", st.Members, st.ScaleUps)
	}
	if st.Records != 600 {
		t.Errorf("records %d, want 600 (each once)", st.Records)
	}
}

func TestAdminRejectsBadInput(t *testing.T) {
	r := newRig(t, "none")
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPut, "/admin/members", `{"members":65}`},
		{http.MethodPut, "/admin/members", `{"members":-1}`},
		{http.MethodPut, "/admin/members", `{}`},
		{http.MethodPut, "/admin/members", `{"group":"nope","members":1}`},
		{http.MethodPut, "/admin/members", `{"members":"two"}`},
		{http.MethodPut, "/admin/settings", `{"record_cost":"fast"}`},
		{http.MethodPut, "/admin/settings", `{"turbo":"1s"}`},
		{http.MethodPut, "/admin/protections", `{"turbo":true}`},
		{http.MethodGet, "/admin/consumed?group=", ""},
	} {
		if code, body := r.call(t, c.method, c.path, c.body); code != http.StatusBadRequest {
			t.Errorf("%s %s %s: %d %s, want 400", c.method, c.path, c.body, code, body)
		}
	}
	if code, body := r.call(t, http.MethodPut, "/admin/members", `{"members":3}`); code != http.StatusOK {
		t.Fatalf("PUT members: %d %s", code, body)
	}
	if n := r.w.stats().Groups["events"].Members; n != 3 {
		t.Errorf("members %d after PUT 3", n)
	}
}

// Members beyond the partition count get no partition: they add no
// capacity, which is why autoscale stops at the partition count.
func TestMembersBeyondPartitionsOwnNothing(t *testing.T) {
	r := newRig(t, "none")
	if code, body := r.call(t, http.MethodPut, "/admin/members", `{"members":12}`); code != http.StatusOK {
		t.Fatalf("PUT members: %d %s", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := r.w.stats().Groups["events"]
		if st.Members == 12 && st.Idle == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members %d, idle %d after 30 s; want 12 of which 6 own nothing (6 partitions)", st.Members, st.Idle)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.produce(t, 1, 120)
	rep := r.awaitFinished(t, "events", 120, 30*time.Second)
	if len(rep.Repeated) != 0 {
		t.Errorf("repeated %v with idle members in the group", rep.Repeated)
	}
	if idle := r.w.stats().Groups["events"].Idle; idle != 6 {
		t.Errorf("idle members %d after the work, want 6", idle)
	}
}
