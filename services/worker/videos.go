package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// The encode pipeline's public side, the upload service: PUT stores an
// upload (a videos row, standing in for the source in object storage) and
// queues it for encoding; GET is the status page its uploader sees.
func videoRoutes(w *worker, mux *http.ServeMux) {
	mux.HandleFunc("PUT /videos/{id}", w.putVideo)
	mux.HandleFunc("GET /videos/{id}", w.getVideo)
}

// putVideo stores an upload and queues it for encoding (storeAndQueue).
func (w *worker) putVideo(rw http.ResponseWriter, r *http.Request) {
	id, ctx, cancel, ok := idRequest(rw, r, "video")
	if !ok {
		return
	}
	defer cancel()
	w.storeAndQueue(rw, ctx, id, "videos", func(ctx context.Context) (queued bool, err error) {
		err = w.db.QueryRow(ctx, `INSERT INTO videos (id) VALUES ($1)
			ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id RETURNING queued`, id).Scan(&queued)
		return queued, err
	})
}

// getVideo is the uploader's status page. A video with every rendition is
// ready. Before that it is "not found" (the page knows only finished
// videos), unless processing_state is on: then it shows "processing", or
// "playable" once a rendition is out, with what is done and what is not.
func (w *worker) getVideo(rw http.ResponseWriter, r *http.Request) {
	id, ctx, cancel, ok := idRequest(rw, r, "video")
	if !ok {
		return
	}
	defer cancel()
	var done []string
	err := w.db.QueryRow(ctx, `SELECT coalesce(array_agg(r.name) FILTER (WHERE r.name IS NOT NULL), '{}')
		FROM videos v LEFT JOIN renditions r ON r.video_id = v.id WHERE v.id = $1 GROUP BY v.id`, id).Scan(&done)
	if errors.Is(err, pgx.ErrNoRows) {
		httpx.Error(rw, http.StatusNotFound, fmt.Sprintf("no upload %d", id))
		return
	}
	if err != nil {
		httpx.Error(rw, http.StatusServiceUnavailable, "reading the video: "+err.Error())
		return
	}
	ready, pending := []string{}, []string{}
	for _, rd := range renditions {
		if slices.Contains(done, rd.name) {
			ready = append(ready, rd.name)
		} else {
			pending = append(pending, rd.name)
		}
	}
	switch {
	case len(pending) == 0:
		httpx.JSON(rw, http.StatusOK, map[string]any{"id": id, "state": "ready", "renditions": ready})
	case w.prot.On(protProcessing):
		state := "processing"
		if len(ready) > 0 {
			state = "playable"
		}
		httpx.JSON(rw, http.StatusOK, map[string]any{"id": id, "state": state, "renditions": ready, "pending": pending})
	default:
		httpx.Error(rw, http.StatusNotFound, fmt.Sprintf("video %d not found", id))
	}
}
