package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/twmb/franz-go/pkg/kgo"
)

// cdcRig is the payments application and connectors over one Postgres
// and broker.
type cdcRig struct {
	t      *testing.T
	pg     string
	broker string
	app    *rig
}

func newCDCRig(t *testing.T, appProtections string) *cdcRig {
	pg, broker := newBackends(t)
	cfg := rigFlags(pg, broker, pipelinePayments, appProtections)
	cfg.partitions, cfg.members = 4, 4
	return &cdcRig{t: t, pg: pg, broker: broker, app: serveWorker(t, cfg)}
}

func (c *cdcRig) connector(protections string, standby bool) *rig {
	cfg := rigFlags(c.pg, c.broker, pipelineCDC, protections)
	cfg.partitions, cfg.standby = 4, standby
	return serveWorker(c.t, cfg)
}

// pay writes payments lo..hi through the application.
func (c *cdcRig) pay(lo, hi int64) {
	c.t.Helper()
	for id := lo; id <= hi; id++ {
		if code, body := c.app.call(c.t, http.MethodPost, fmt.Sprintf("/payments/%d?critical=%t", id, id%5 == 0), ""); code != http.StatusCreated {
			c.t.Fatalf("payment %d: %d %s", id, code, body)
		}
	}
}

// audited counts the payments lo..hi with an audit row, and the rows
// beyond one per payment.
func (c *cdcRig) audited(lo, hi int64) (n, extra int64) {
	c.t.Helper()
	c.app.scan(c.t, fmt.Sprintf(`SELECT count(DISTINCT payment_id), count(*) - count(DISTINCT payment_id)
		FROM audit_log WHERE payment_id BETWEEN %d AND %d`, lo, hi), &n, &extra)
	return n, extra
}

// awaitAudited waits until the payments lo..hi all have an audit row.
func (c *cdcRig) awaitAudited(lo, hi int64, within time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		n, _ := c.audited(lo, hi)
		if n == hi-lo+1 {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d of payments %d..%d audited within %v", n, lo, hi, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settled waits until the audit trail stops growing and returns its counts.
func (c *cdcRig) settled(lo, hi int64) (n, extra int64) {
	c.t.Helper()
	last := int64(-1)
	for {
		time.Sleep(1500 * time.Millisecond)
		n, extra = c.audited(lo, hi)
		if n == last {
			return n, extra
		}
		last = n
	}
}

func connectorStatsOf(t *testing.T, r *rig) connectorStats {
	t.Helper()
	code, body := r.call(t, http.MethodGet, "/admin/stats", "")
	if code != http.StatusOK {
		t.Fatalf("stats: %d %s", code, body)
	}
	var s statsJSON
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	if s.Connector == nil {
		t.Fatalf("stats without a connector: %s", body)
	}
	return *s.Connector
}

func awaitStreaming(t *testing.T, r *rig, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !connectorStatsOf(t, r).Streaming {
		if time.Now().After(deadline) {
			t.Fatalf("not streaming within %v: %+v", within, connectorStatsOf(t, r))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The durable connector's replacement resumes from the slot: every payment
// written while no connector ran reaches the audit trail, once.
func TestConnectorRestartReplaysFromTheSlot(t *testing.T) {
	c := newCDCRig(t, "idempotent_audit")
	a := c.connector("durable_slot", false)
	awaitStreaming(t, a, 20*time.Second)
	c.pay(1, 50)
	c.awaitAudited(1, 50, 20*time.Second)
	a.stop()
	c.pay(51, 100)
	b := c.connector("durable_slot", false)
	awaitStreaming(t, b, 20*time.Second)
	c.awaitAudited(1, 100, 20*time.Second)
	if n, extra := c.settled(1, 100); n != 100 || extra != 0 {
		t.Errorf("audited %d, extra rows %d: want 100 and 0", n, extra)
	}
}

// A temporary slot dies with its session: what was written before the
// next session is never published — the seed's silent gap.
func TestTemporarySlotLosesTheGap(t *testing.T) {
	c := newCDCRig(t, "idempotent_audit")
	a := c.connector("none", false)
	awaitStreaming(t, a, 20*time.Second)
	c.pay(1, 20)
	c.awaitAudited(1, 20, 20*time.Second)
	a.stop()
	c.pay(21, 60)
	b := c.connector("none", false)
	awaitStreaming(t, b, 20*time.Second)
	c.pay(61, 80)
	c.awaitAudited(61, 80, 20*time.Second)
	if n, _ := c.settled(21, 60); n != 0 {
		t.Errorf("%d of the 40 payments written between the sessions audited; a temporary slot starts from now", n)
	}
}

// The standby waits while the slot is held and takes it over when the
// holder's session ends; with the replay the audit sees duplicates, which
// idempotent_audit keeps out of the trail.
func TestStandbyTakesOverTheSlot(t *testing.T) {
	for _, idem := range []bool{true, false} {
		t.Run(fmt.Sprintf("idempotent_audit=%t", idem), func(t *testing.T) {
			app := "none"
			if idem {
				app = "idempotent_audit"
			}
			c := newCDCRig(t, app)
			a := c.connector("durable_slot,standby_connector", false)
			awaitStreaming(t, a, 20*time.Second)
			b := c.connector("durable_slot,standby_connector", true)
			c.pay(1, 30)
			c.awaitAudited(1, 30, 20*time.Second)
			if connectorStatsOf(t, b).Streaming {
				t.Fatal("the standby streams while the slot is held")
			}
			// acknowledged events Postgres was not told of: a crash now
			// publishes them again
			c.pay(31, 60)
			deadline := time.Now().Add(10 * time.Second)
			for connectorStatsOf(t, a).Unconfirmed == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no unconfirmed events within 10s")
				}
				time.Sleep(5 * time.Millisecond)
			}
			a.stop()
			awaitStreaming(t, b, 5*time.Second)
			c.pay(61, 90)
			c.awaitAudited(1, 90, 20*time.Second)
			n, extra := c.settled(1, 90)
			if n != 90 {
				t.Errorf("audited %d of 90", n)
			}
			if idem && extra != 0 {
				t.Errorf("%d extra audit rows with idempotent_audit", extra)
			}
			if !idem && extra == 0 {
				t.Error("no payment replayed after the takeover: the test shows nothing")
			}
		})
	}
}

// Without durable_slot the connector tells Postgres it flushed what it
// received; with it, only what the broker acknowledged.
func TestFlushedPositionFollowsTheBroker(t *testing.T) {
	var f flushTracker
	t1, t2 := f.begin(), f.begin()
	f.produced(t1, true)
	f.produced(t2, true)
	f.commit(t1, 100)
	f.commit(t2, 200)
	f.ack(t2)
	if got := f.confirmable(); got != 0 {
		t.Fatalf("confirmable %s with the first transaction unacknowledged, want 0/0", got)
	}
	f.ack(t1)
	if got := f.confirmable(); got != 200 {
		t.Fatalf("confirmable %s, want 0/C8", got)
	}
	if s := f.stats(); s.Unconfirmed != 2 {
		t.Fatalf("unconfirmed %d before any report, want 2", s.Unconfirmed)
	}
	f.reported(100)
	if s := f.stats(); s.Unconfirmed != 1 {
		t.Fatalf("unconfirmed %d after reporting the first, want 1", s.Unconfirmed)
	}
	t3 := f.begin()
	f.commit(t3, 300) // a transaction with no record is done at its commit
	if got := f.confirmable(); got != pglogrepl.LSN(300) {
		t.Fatalf("confirmable %s after an empty transaction, want 0/12C", got)
	}
}

// The payments endpoint refuses what is not a payment before writing.
func TestPaymentRejectsBadInput(t *testing.T) {
	c := newCDCRig(t, "none")
	for _, tc := range []struct {
		path string
		code int
	}{
		{"/payments/abc", http.StatusBadRequest},
		{"/payments/-1", http.StatusBadRequest},
		{"/payments/7?critical=maybe", http.StatusBadRequest},
		{"/payments/7", http.StatusCreated},
		{"/payments/7", http.StatusConflict},
	} {
		if code, body := c.app.call(t, http.MethodPost, tc.path, ""); code != tc.code {
			t.Errorf("POST %s: %d %s, want %d", tc.path, code, body, tc.code)
		}
	}
	var n int64
	c.app.scan(t, `SELECT count(*) FROM payments`, &n)
	if n != 1 {
		t.Errorf("%d payments stored, want 1", n)
	}
}

func TestDecodeEventHeaders(t *testing.T) {
	at := time.Unix(1700000000, 5)
	for _, tc := range []struct {
		name    string
		headers []kgo.RecordHeader
		want    event
		err     string
	}{
		{"none", nil, event{id: 7}, ""},
		{"cdc payment", []kgo.RecordHeader{{Key: headerKind, Value: []byte(kindPayment)}, {Key: headerSource, Value: []byte(sourceCDC)},
			{Key: headerAt, Value: []byte("1700000000000000005")}}, event{id: 7, kind: kindPayment, source: sourceCDC, at: at}, ""},
		{"bad time", []kgo.RecordHeader{{Key: headerAt, Value: []byte("noon")}}, event{}, `header at "noon"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeEvent(&kgo.Record{Key: []byte("7"), Headers: tc.headers})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.id != tc.want.id || got.kind != tc.want.kind || got.source != tc.want.source || !got.at.Equal(tc.want.at) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
