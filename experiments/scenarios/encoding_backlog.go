package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 13: a viral upload event multiplies uploads by ten; the
// encoders fall behind, and with one job per video nothing of a new
// upload is watchable, or even visible to its uploader, until the whole
// backlog ahead of it is encoded.
const (
	encRate       = 4 // requests/s at normal load: half uploads, half status looks
	encPeakFactor = 3 // a 10x spike on a 10x peak (200 uploads/s, 40 encoders' worth) is past this box's Postgres
	encSpike      = 10
	encTimeout    = 5 * time.Second
	uploadOp      = "upload"
	statusOp      = "status"
	// statusAge is when an uploader looks at their video: this long after
	// the upload was acknowledged.
	statusAge = time.Second
	// warmVideo is the id of the video Prepare uploads, beyond any seq a
	// run reaches: the status page has a video to show from the start.
	warmVideo   = 1 << 40
	renditionsN = 4
)

var encodingBacklog = Experiment{
	Name:     "encoding-backlog",
	Title:    "Video encoding pipeline backs up",
	Scenario: 13,
	Shows: "Uploads go to an upload service that stores them and queues them on a 16-partition topic; encoders " +
		"make four renditions per video, 360p, 720p, 1080p and 2160p, holding an encoder 4, 16, 36 and 144 ms " +
		"(their pixel counts, 1:4:9:36; a stand-in: an encoder slot held, no CPU), so two encoders finish ~10 " +
		"videos/s. The fault is a viral upload event: 10x the uploads. Unprotected: one FIFO job per video " +
		"makes all four and publishes them together, two encoders, and the uploader's status page knows only " +
		"finished videos: time to first playable grows with the backlog and the page answers not found. " +
		"Protected (the seed's): 360p in its own group, served first for an encoder while HD pauses; encoders " +
		"doubled while the queue is older than 1 s (up to 16); a \"processing\" state on the status page.",
	Services: []string{compose.SvcBroker, compose.SvcEncoder},
	Workers:  []string{compose.SvcEncoder},
	Load: Load{
		Rate:        encRate,
		PeakFactor:  encPeakFactor,
		MaxInFlight: 1000,
		Ops: func(e *Env) []loadgen.Weighted {
			up := &uploads{}
			return []loadgen.Weighted{{Op: uploadVideos(e, up), Weight: 1}, {Op: lookAtVideos(e, up), Weight: 1}}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: encTimeout} },
	},
	Mitigation: []string{"lowest_first", "autoscale", "processing_state"},
	Phases:     Phases{Baseline: 40 * time.Second, Fault: 40 * time.Second, Recovery: 40 * time.Second},
	Prepare:    prepareEncoding,
	Fault: func(e *Env) chaos.Fault {
		return loadSpike(e, encSpike*e.Run.Rate, nil)
	},
	Audit: auditEncoding,
	Watch: []string{"encoder.groups.encode.records", "encoder.groups.low.records", "encoder.groups.hd.records"},
	Gauges: []string{"encoder.depth", "encoder.encoders.size", "encoder.encoders.busy", "encoder.encoders.waiting",
		"encoder.groups.encode.lag.seconds", "encoder.groups.low.lag.seconds", "encoder.groups.hd.lag.seconds"},
	Cascade: []Check{
		AtLeast("time to first playable p99, uploads during the spike / before it", Fact("ttfp_ratio"), 10, Ratio),
		AtLeast("status looks answered not found during the spike (acknowledged uploads, 1 s old)", notFoundShare(Faulted), 0.5, Percent),
	},
	Holds: []Check{
		AtMost("time to first playable p99, uploads during the spike", Fact("ttfp_p99_fault"), 1, Seconds),
		AtMost("renditions of acknowledged uploads never published", Fact("renditions_missing"), 0, Count),
		AtMost("renditions encoded more than once", Fact("renditions_repeated"), 0, Count),
		AtMost("status looks answered not found (acknowledged uploads, 1 s old)", Measure(notFoundCount), 0, Count),
		AtMost("every rendition of the spike's uploads out, after the spike / the spike's length", Measure(spikeDonePerFault), 0.5, Ratio),
	},
}

// uploads are the uploads the client saw acknowledged, in order, for the
// uploaders' status looks.
type uploads struct {
	mu   sync.Mutex
	ids  []int64
	acks []time.Time
}

// add keeps acks sorted, as olderThan searches them: an ack timed just
// before one already added (two answers racing for the lock) takes its time.
func (u *uploads) add(id int64, at time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n := len(u.acks); n > 0 && at.Before(u.acks[n-1]) {
		at = u.acks[n-1]
	}
	u.ids = append(u.ids, id)
	u.acks = append(u.acks, at)
}

// olderThan is the newest upload acknowledged at least age before now;
// the warm-up video when none is that old yet.
func (u *uploads) olderThan(age time.Duration, now time.Time) int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	cut := now.Add(-age)
	i := sort.Search(len(u.acks), func(i int) bool { return u.acks[i].After(cut) })
	if i == 0 {
		return warmVideo
	}
	return u.ids[i-1]
}

func encoderURL(e *Env) string { return "http://" + e.Stack.ClientAddr(compose.SvcEncoder, "main") }

// uploadVideos is PUT /videos/{seq}: stored and queued when acknowledged.
func uploadVideos(e *Env, up *uploads) loadgen.Op {
	base := encoderURL(e)
	put := &loadgen.HTTPOp{
		OpName: uploadOp,
		Method: http.MethodPut,
		Client: e.HTTP,
		URL: func(seq uint64) (string, string) {
			id := strconv.FormatUint(seq, 10)
			return base + "/videos/" + id, id
		},
	}
	return loadgen.FuncOp(uploadOp, func(ctx context.Context, seq uint64) loadgen.Result {
		res := put.Do(ctx, seq)
		if res.OK() {
			up.add(int64(seq), time.Now())
		}
		return res
	})
}

// lookAtVideos is an uploader's look at the status page of their video,
// statusAge after the upload was acknowledged.
func lookAtVideos(e *Env, up *uploads) loadgen.Op {
	base := encoderURL(e)
	return &loadgen.HTTPOp{
		OpName: statusOp,
		Client: e.HTTP,
		URL: func(uint64) (string, string) {
			id := strconv.FormatInt(up.olderThan(statusAge, time.Now()), 10)
			return base + "/videos/" + id, id
		},
	}
}

// prepareEncoding waits until every member of the run's groups owns a
// partition (16 joining a group take a few rebalances), then uploads the
// warm-up video and waits until it is ready.
func prepareEncoding(ctx context.Context, e *Env) error {
	err := retryFor(ctx, 30*time.Second, func() error {
		nums, _, err := e.Worker(compose.SvcEncoder).Stats(ctx)
		if err != nil {
			return err
		}
		for _, g := range encodingGroups(e) {
			if n, idle := nums["groups."+g+".members"], nums["groups."+g+".idle"]; n == 0 || idle > 0 {
				return fmt.Errorf("group %s: %.0f members, %.0f without a partition", g, n, idle)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("encoder groups not settled: %w", err)
	}
	url := encoderURL(e) + "/videos/" + strconv.Itoa(warmVideo)
	if err := putUpload(ctx, e, url, nil); err != nil {
		return err
	}
	return retryFor(ctx, 30*time.Second, func() error {
		state, err := videoState(ctx, e, url)
		if err == nil && state != "ready" {
			err = fmt.Errorf("warm-up video is %q, not ready", state)
		}
		return err
	})
}

func videoState(ctx context.Context, e *Env, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := e.HTTP.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status page: %s", resp.Status)
	}
	var v struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return "", fmt.Errorf("status page: %w", err)
	}
	return v.State, nil
}

// encodingGroups are the groups a run's pipeline runs: the slowest last.
func encodingGroups(e *Env) []string {
	if e.On("lowest_first") {
		return []string{"low", "hd"}
	}
	return []string{"encode"}
}

// auditEncoding waits (protected) until the encoders have finished the
// queue, then reads from the database, as an operator's reconciliation would, when
// each acknowledged upload was stored and its renditions published.
func auditEncoding(ctx context.Context, e *Env, r *Run) error {
	// the cascade's checks need no drained queue: a video not yet playable
	// counts with the time it has waited so far, a lower bound
	if e.Variant == Protected {
		_, behind, _, err := awaitDrained(ctx, e, compose.SvcEncoder, encodingGroups(e))
		if err != nil {
			return err
		}
		if behind != "" {
			r.Notes = append(r.Notes, fmt.Sprintf("renditions audited before the queue was empty, %v after the load stopped: %s", drainLimit, behind))
		}
	}
	conn, err := operator.Postgres(ctx, e.Topology, "main")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT v.id, extract(epoch FROM v.uploaded_at)::float8,
			extract(epoch FROM min(r.published_at))::float8, extract(epoch FROM max(r.published_at))::float8,
			count(r.name), coalesce(sum(r.encodes), 0)
		FROM videos v LEFT JOIN renditions r ON r.video_id = v.id GROUP BY v.id`)
	if err != nil {
		return fmt.Errorf("reading renditions: %w", err)
	}
	type video struct {
		uploaded, first, last float64 // unix seconds; first and last are 0 when nothing is published
		published, encod      int64
	}
	videos := map[int64]video{}
	for rows.Next() {
		var id int64
		var v video
		var first, last *float64
		if err := rows.Scan(&id, &v.uploaded, &first, &last, &v.published, &v.encod); err != nil {
			return err
		}
		if first != nil {
			v.first, v.last = *first, *last
		}
		videos[id] = v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading renditions: %w", err)
	}
	now := float64(time.Now().UnixNano()) / 1e9
	start := float64(r.Start.UnixNano()) / 1e9
	var missing, repeated, unstored int64
	var base, spike []float64
	acked := e.Ledger.Acked(uploadOp)
	// the spike's backlog is done when its last upload has all renditions
	spikeDone, spikeOpen := start+r.RecoverAt.Seconds(), 0
	for _, res := range acked {
		id, err := strconv.ParseInt(res.Key, 10, 64)
		if err != nil {
			return fmt.Errorf("upload key %q: %w", res.Key, err)
		}
		v, ok := videos[id]
		if !ok {
			unstored++
			missing += renditionsN
			continue
		}
		missing += renditionsN - v.published
		repeated += v.encod - v.published
		ttfp := now - v.uploaded // not playable yet: at least this
		if v.first > 0 {
			ttfp = v.first - v.uploaded
		}
		at := time.Duration((v.uploaded - start) * 1e9)
		switch {
		case at < r.FaultAt:
			base = append(base, ttfp)
		case at < r.RecoverAt:
			spike = append(spike, ttfp)
			if v.published < renditionsN {
				spikeOpen++
				spikeDone = max(spikeDone, now)
			} else {
				spikeDone = max(spikeDone, v.last)
			}
		}
	}
	if len(base) == 0 || len(spike) == 0 {
		return fmt.Errorf("uploads stored before the spike: %d, during it: %d; need both", len(base), len(spike))
	}
	pb, ps := p99Of(base), p99Of(spike)
	r.SetFact("uploads_acked", float64(len(acked)))
	r.SetFact("uploads_unstored", float64(unstored))
	r.SetFact("renditions_missing", float64(missing))
	r.SetFact("renditions_repeated", float64(repeated))
	r.SetFact("ttfp_p99_baseline", pb)
	r.SetFact("ttfp_p99_fault", ps)
	r.SetFact("ttfp_ratio", ps/max(pb, 0.001))
	spikeLen := (r.RecoverAt - r.FaultAt).Seconds()
	r.SetFact("spike_done_seconds", spikeDone-start-r.RecoverAt.Seconds())
	r.SetFact("spike_done_per_fault", (spikeDone-start-r.RecoverAt.Seconds())/spikeLen)
	r.SetFact("spike_uploads_unfinished", float64(spikeOpen))
	return nil
}

// spikeDonePerFault is how long after the spike the last upload made
// during it had all its renditions, over the spike's length; with uploads
// still unfinished at the audit, a lower bound.
func spikeDonePerFault(r *Run) (float64, error) {
	v, err := r.Fact("spike_done_per_fault")
	if err != nil {
		return 0, err
	}
	if open, _ := r.Fact("spike_uploads_unfinished"); open > 0 {
		return 0, &Beyond{Value: v, Why: fmt.Sprintf("%.0f uploads of the spike still without every rendition at the audit", open)}
	}
	return v, nil
}

// p99Of is the nearest-rank 99th percentile.
func p99Of(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	i := (len(s)*99 + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}

// notFoundShare is the share of status looks in phase p answered 404.
func notFoundShare(p Phase) Measure {
	return func(r *Run) (float64, error) {
		s, err := r.Client(p, statusOp)
		if err != nil {
			return 0, err
		}
		return float64(s.Codes[http.StatusNotFound]) / float64(s.Completed), nil
	}
}

// notFoundCount is the status looks of the whole run answered 404.
func notFoundCount(r *Run) (float64, error) {
	if r.Timeline == nil {
		return 0, ErrNoData
	}
	s := r.Timeline.Window(0, r.End, statusOp)
	if s.Completed == 0 {
		return 0, fmt.Errorf("no status look completed")
	}
	return float64(s.Codes[http.StatusNotFound]), nil
}
