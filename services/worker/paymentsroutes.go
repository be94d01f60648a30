package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/whatif-lab/whatif/services/internal/httpx"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

// The payments pipeline's public side: POST /payments/{id}?critical=true
// writes one payment (a critical one is a state transition the seed would
// have the application publish itself if CDC is late).
func paymentRoutes(w *worker, mux *http.ServeMux) {
	mux.HandleFunc("POST /payments/{id}", w.postPayment)
}

func (w *worker) postPayment(rw http.ResponseWriter, r *http.Request) {
	id, ctx, cancel, ok := idRequest(rw, r, "payment")
	if !ok {
		return
	}
	defer cancel()
	critical := false
	if v := r.URL.Query().Get("critical"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			httpx.Error(rw, http.StatusBadRequest, fmt.Sprintf("critical=%q: want true or false", v))
			return
		}
		critical = b
	}
	// noted before the write, so CDC cannot show it before it is awaited
	fallback := critical && w.prot.On(protFallback)
	if fallback {
		w.pay.await(id, time.Now().Add(w.settings.get(knob.Fallback)))
	}
	tag, err := w.db.Exec(ctx, `INSERT INTO payments (id, critical) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, id, critical)
	switch {
	case err != nil:
		if fallback {
			w.pay.forget(id)
		}
		httpx.Error(rw, http.StatusServiceUnavailable, "writing the payment: "+err.Error())
	case tag.RowsAffected() == 0:
		httpx.Error(rw, http.StatusConflict, fmt.Sprintf("payment %d exists", id))
	default:
		httpx.JSON(rw, http.StatusCreated, map[string]any{"id": id, "critical": critical})
	}
}

// paymentsLoop rewrites the heartbeat row every heartbeatEvery and
// publishes the critical payments CDC has not shown in time.
func (w *worker) paymentsLoop(ctx context.Context) {
	t := time.NewTicker(heartbeatEvery / 5)
	defer t.Stop()
	next := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !now.Before(next) {
				w.heartbeat(ctx, now)
				next = now.Add(heartbeatEvery)
			}
			w.publishDue(ctx, now)
		}
	}
}

// heartbeat writes the heartbeat row: its beat is the record's key, so
// every beat is a new event.
func (w *worker) heartbeat(ctx context.Context, now time.Time) {
	cctx, cancel := context.WithTimeout(ctx, heartbeatEvery)
	defer cancel()
	_, err := w.db.Exec(cctx, `INSERT INTO cdc_heartbeat (id, beat, at_unix_ns) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET beat = EXCLUDED.beat, at_unix_ns = EXCLUDED.at_unix_ns`, now.UnixMicro(), now.UnixNano())
	w.pay.beatWritten(err)
}

// publishDue publishes each critical payment past its deadline as a
// minimal event of the application's own (acks=all, idempotent); one the
// broker refuses is tried again on the next tick.
func (w *worker) publishDue(ctx context.Context, now time.Time) {
	for _, id := range w.pay.due(now) {
		rec := &kgo.Record{Key: []byte(strconv.FormatInt(id, 10)), Headers: []kgo.RecordHeader{
			{Key: headerKind, Value: []byte(kindPayment)},
			{Key: headerSource, Value: []byte(sourceApp)},
			{Key: headerAt, Value: []byte(strconv.FormatInt(now.UnixNano(), 10))},
		}}
		w.prod.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			w.pay.published(err)
			if err != nil && ctx.Err() == nil {
				w.pay.await(id, time.Now())
			}
		})
	}
}
