package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"time"

	"golang.org/x/image/draw"

	"github.com/whatif-lab/whatif/services/internal/protections"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

// The files pipeline is the seed's scenario 20: every upload is an image
// that goes through a virus scan, a resize and moderation before it is
// visible. Each step leaves a side effect (a file_effects row, standing in
// for a scan verdict, a thumbnail in the processed bucket, a moderation
// record); a step done again counts in times. A corrupt image fails the
// resize: without dead_letter its record is tried in place until it
// succeeds, and its partition waits.
var filesPipeline = pipeline{
	topic:       "files",
	protections: []string{protDeadLetter, protIdempotent, protDepthAlert},
	schema: `CREATE TABLE IF NOT EXISTS files (
			id bigint PRIMARY KEY,
			body bytea NOT NULL,
			uploaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
			queued boolean NOT NULL DEFAULT false);
		CREATE TABLE IF NOT EXISTS file_effects (
			file_id bigint NOT NULL,
			step text NOT NULL,
			first_at timestamptz NOT NULL DEFAULT clock_timestamp(),
			times int NOT NULL DEFAULT 1,
			output_bytes int NOT NULL DEFAULT 0,
			PRIMARY KEY (file_id, step))`,
	reset:       `TRUNCATE files, file_effects`,
	groups:      func(*protections.Set) []groupPlan { return []groupPlan{{name: "process", steps: fileSteps}} },
	routes:      fileRoutes,
	deadLetter:  "files.dlq",
	commitEvery: 5 * time.Second,
	alarm:       alarm{protection: protDepthAlert, cause: depthAlarm},
}

// Step names, in order; the last one makes a file visible.
const (
	stepScan     = "scan"
	stepResize   = "resize"
	stepModerate = "moderate"
)

var fileSteps = []step{fileStep(stepScan, nil), fileStep(stepResize, thumbnail), fileStep(stepModerate, nil)}

// thumbnailSide is the thumbnail's width and height.
const thumbnailSide = 16

// fileStep holds the member step_cost, runs work (real work, or nil), and
// records its side effect. With idempotent_steps on it first looks for
// the effect and does nothing when it is there.
func fileStep(name string, work func(ctx context.Context, env stepEnv, id int64) (int, error)) step {
	return func(ctx context.Context, env stepEnv, ev event) error {
		if env.prot.On(protIdempotent) {
			var done bool
			err := env.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM file_effects WHERE file_id = $1 AND step = $2)`, ev.id, name).Scan(&done)
			if err != nil {
				return fmt.Errorf("%s of file %d: looking for its marker: %w", name, ev.id, err)
			}
			if done {
				return nil
			}
		}
		if err := hold(ctx, env.settings.get(knob.StepCost)); err != nil {
			return err
		}
		out := 0
		if work != nil {
			var err error
			if out, err = work(ctx, env, ev.id); err != nil {
				return err
			}
		}
		// the same statement in both modes: a repeat the marker did not
		// prevent still counts
		_, err := env.db.Exec(ctx, `INSERT INTO file_effects (file_id, step, output_bytes) VALUES ($1, $2, $3)
			ON CONFLICT (file_id, step) DO UPDATE SET times = file_effects.times + 1`, ev.id, name, out)
		if err != nil {
			return fmt.Errorf("%s of file %d: %w", name, ev.id, err)
		}
		return nil
	}
}

// thumbnail decodes the stored image and scales it down: real work,
// and the step a corrupt file fails. It returns the thumbnail's size.
func thumbnail(ctx context.Context, env stepEnv, id int64) (int, error) {
	var body []byte
	if err := env.db.QueryRow(ctx, `SELECT body FROM files WHERE id = $1`, id).Scan(&body); err != nil {
		return 0, fmt.Errorf("reading file %d: %w", id, err)
	}
	src, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("decoding file %d: %w", id, err)
	}
	dst := image.NewRGBA(image.Rect(0, 0, thumbnailSide, thumbnailSide))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	var buf bytes.Buffer
	if err := png.Encode(&buf, dst); err != nil {
		return 0, fmt.Errorf("encoding the thumbnail of file %d: %w", id, err)
	}
	return buf.Len(), nil
}
