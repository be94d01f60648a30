package main

import (
	"context"
	"io"
	"net/http"

	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// maxFileBytes bounds one upload's body.
const maxFileBytes = 1 << 20

// The files pipeline's public side, the upload service: PUT stores the
// body (the raw bucket's object) and queues the file for processing.
func fileRoutes(w *worker, mux *http.ServeMux) {
	mux.HandleFunc("PUT /files/{id}", w.putFile)
}

func (w *worker) putFile(rw http.ResponseWriter, r *http.Request) {
	id, ctx, cancel, ok := idRequest(rw, r, "file")
	if !ok {
		return
	}
	defer cancel()
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, maxFileBytes))
	switch {
	case err != nil:
		httpx.Error(rw, http.StatusBadRequest, "reading the file: "+err.Error()+" (at most 1 MiB)")
		return
	case len(body) == 0:
		httpx.Error(rw, http.StatusBadRequest, "empty file: want the file as the request body")
		return
	}
	w.storeAndQueue(rw, ctx, id, "files", func(ctx context.Context) (queued bool, err error) {
		err = w.db.QueryRow(ctx, `INSERT INTO files (id, body) VALUES ($1, $2)
			ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING queued`, id, body).Scan(&queued)
		return queued, err
	})
}
