package main

import (
	"context"
	"fmt"
	"time"

	"github.com/whatif-lab/whatif/services/internal/protections"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

// The encode pipeline is the seed's scenario 13: every upload is encoded
// into four renditions whose encoder time follows their pixel counts.
// Without lowest_first one FIFO job per video encodes all four on one
// encoder and publishes them together; with it 360p has its own group,
// which is served first whenever it waits for an encoder, and publishes
// at once, while the others follow in group hd.
var encodePipeline = pipeline{
	topic:       "uploads",
	protections: []string{protLowestFirst, protAutoscale, protProcessing},
	schema: `CREATE TABLE IF NOT EXISTS videos (
			id bigint PRIMARY KEY,
			uploaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
			queued boolean NOT NULL DEFAULT false);
		CREATE TABLE IF NOT EXISTS renditions (
			video_id bigint NOT NULL,
			name text NOT NULL,
			published_at timestamptz NOT NULL DEFAULT clock_timestamp(),
			encodes int NOT NULL DEFAULT 1,
			PRIMARY KEY (video_id, name))`,
	reset: `TRUNCATE videos, renditions`,
	gated: true,
	groups: func(p *protections.Set) []groupPlan {
		if p.On(protLowestFirst) {
			return []groupPlan{
				{name: "low", steps: []step{encodeStep(prioHigh, renditions[0])}},
				{name: "hd", steps: []step{encodeStep(prioLow, renditions[1]), encodeStep(prioLow, renditions[2]), encodeStep(prioLow, renditions[3])}},
			}
		}
		return []groupPlan{{name: "encode", steps: []step{encodeStep(prioLow, renditions...)}}}
	},
	routes: videoRoutes,
}

// rendition is one output of an encode; units is its encoder time in
// multiples of encode_unit (its pixels over 360p's).
type rendition struct {
	name  string
	units int
}

var renditions = []rendition{{"360p", 1}, {"720p", 4}, {"1080p", 9}, {"2160p", 36}}

// encodeStep encodes rs on one encoder, in order, and publishes them
// together once all are done: a video's status changes only then.
func encodeStep(prio int, rs ...rendition) step {
	units := 0
	names := make([]string, len(rs))
	for i, r := range rs {
		units += r.units
		names[i] = r.name
	}
	return func(ctx context.Context, env stepEnv, ev event) error {
		if err := env.gate.acquire(ctx, prio); err != nil {
			return err
		}
		err := hold(ctx, time.Duration(units)*env.settings.get(knob.EncodeUnit))
		env.gate.release()
		if err != nil {
			return err
		}
		// a repeat (a crash between publishing and committing) counts in encodes
		_, err = env.db.Exec(ctx, `INSERT INTO renditions (video_id, name) SELECT $1, unnest($2::text[])
			ON CONFLICT (video_id, name) DO UPDATE SET encodes = renditions.encodes + 1`, ev.id, names)
		if err != nil {
			return fmt.Errorf("publishing %v of video %d: %w", names, ev.id, err)
		}
		return nil
	}
}

// hold stands in for encoding: the encoder is busy d (no CPU used).
func hold(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
