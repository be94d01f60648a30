package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// uploadTimeout bounds storing and queueing one upload.
const uploadTimeout = 5 * time.Second

// idRequest reads the path's id, answering 400 when it is not one,
// and bounds the request's work by uploadTimeout.
func idRequest(rw http.ResponseWriter, r *http.Request, what string) (int64, context.Context, context.CancelFunc, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		httpx.Error(rw, http.StatusBadRequest, fmt.Sprintf("%s id %q: want a non-negative integer", what, r.PathValue("id")))
		return 0, nil, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), uploadTimeout)
	return id, ctx, cancel, true
}

// storeAndQueue is the upload service's write: store runs the insert,
// which returns whether the upload was queued already; a new one is
// produced (acks=all) and marked queued. It answers 201 once the broker
// has acknowledged the record, 200 for a repeat of a queued upload.
func (w *worker) storeAndQueue(rw http.ResponseWriter, ctx context.Context, id int64, table string, store func(ctx context.Context) (queued bool, err error)) {
	queued, err := store(ctx)
	if err != nil {
		httpx.Error(rw, http.StatusServiceUnavailable, "storing the upload: "+err.Error())
		return
	}
	if queued {
		httpx.JSON(rw, http.StatusOK, map[string]any{"id": id, "state": "uploaded"})
		return
	}
	rec := &kgo.Record{Key: []byte(strconv.FormatInt(id, 10))}
	if err := w.prod.ProduceSync(ctx, rec).FirstErr(); err != nil {
		httpx.Error(rw, http.StatusServiceUnavailable, "queueing the upload: "+err.Error())
		return
	}
	if _, err := w.db.Exec(ctx, `UPDATE `+table+` SET queued = true WHERE id = $1`, id); err != nil {
		httpx.Error(rw, http.StatusServiceUnavailable, "marking the upload queued: "+err.Error())
		return
	}
	httpx.JSON(rw, http.StatusCreated, map[string]any{"id": id, "state": "uploaded"})
}
