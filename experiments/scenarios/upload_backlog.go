package scenarios

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/internal/clock"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 20: a few uploads are corrupt images. Without a dead-letter
// topic each is retried in place and its partition stops, so healthy
// uploads behind it wait as long as the fault lasts; a worker killed
// mid-pipeline has its records redone, and steps that do not look for
// their own marker repeat their side effects.
const (
	fileRate    = 10 // uploads/s at normal load; peak is 10x
	fileTimeout = 5 * time.Second
	fileOp      = "upload"
	// corruptEvery makes every 20th upload of the fault corrupt: the
	// seed's "a few percent" (5%), the same uploads in every run.
	corruptEvery = 20
	// killMidPipelineWithin bounds the wait for the killed worker to hold
	// work a crash would repeat.
	killMidPipelineWithin = 10 * time.Second
)

var uploadBacklog = Experiment{
	Name:     "upload-backlog",
	Title:    "Upload processing pipeline backs up",
	Scenario: 20,
	Shows: "Uploads (small PNG images) go to an upload service that stores them and queues them on an " +
		"8-partition topic; two worker processes, four members each, scan, resize (a real decode and " +
		"scale-down) and moderate each file, each step leaving a side effect, and commit every 5 s (Kafka's " +
		"default). The fault makes every 20th upload a corrupt image, which fails the resize. At its end the " +
		"files are repaired, the on-call replays the dead letters if paged, and one worker is SIGKILLed " +
		"mid-pipeline. Unprotected: a failing record is retried in place, its partition stops and healthy " +
		"uploads behind it wait as long as the fault lasts; the killed worker's records are redone and their " +
		"side effects repeat. Protected (the seed's): a dead-letter topic after 3 attempts, steps that look " +
		"for their own done-marker, and an alert on queue age and dead letters that pages the on-call, who " +
		"replays the dead letters after the fix.",
	Services: []string{compose.SvcBroker, compose.SvcUploads, compose.SvcUploadsB},
	Workers:  []string{compose.SvcUploads, compose.SvcUploadsB},
	Load: Load{
		Rate:        fileRate,
		MaxInFlight: 1000,
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: uploadFiles(e, fileRunOf(e)), Weight: 1}}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: fileTimeout} },
	},
	Mitigation: uploadProtections,
	Phases:     Phases{Baseline: 40 * time.Second, Fault: 40 * time.Second, Recovery: 40 * time.Second},
	Prepare:    settleUploadGroups,
	Fault:      corruptUploads,
	Audit:      auditFiles,
	Watch: []string{"uploads.groups.process.records", "uploads-b.groups.process.records",
		"uploads.groups.process.dead_letters", "uploads-b.groups.process.dead_letters",
		"uploads.groups.process.step_errors", "uploads-b.groups.process.step_errors"},
	Gauges: []string{"uploads.groups.process.lag.records", "uploads.groups.process.lag.seconds", "uploads.alert.firing"},
	Cascade: []Check{
		AtLeast("healthy uploads' time to processed, p99 during the fault / before it", Fact("healthy_p99_ratio"), 10, Ratio),
		AtLeast("side effects done again after a worker was killed mid-pipeline", Fact("effects_repeated"), 1, Count),
	},
	Holds: []Check{
		AtMost("healthy uploads' time to processed, p99 during the fault / before it", Fact("healthy_p99_ratio"), 2, Ratio),
		AtMost("dead letters that are a healthy upload, or a corrupt one again", Fact("dead_letters_wrong"), 0, Count),
		AtMost("side effects done more than once", Fact("effects_repeated"), 0, Count),
		AtMost("acknowledged uploads never processed (after the fix, and the replay when paged)", Fact("files_unprocessed"), 0, Count),
	},
}

var uploadProtections = []string{"dead_letter", "idempotent_steps", "depth_alert"}

// fileRun is what the ops, the fault and the audit of one run share.
type fileRun struct {
	corrupting atomic.Bool
	inFlight   sync.WaitGroup // corrupt uploads not yet answered
	mu         sync.Mutex
	corrupt    map[uint64]bool // seqs sent corrupt
}

func (f *fileRun) isCorrupt(seq uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.corrupt[seq]
}

func (f *fileRun) corruptIDs() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := make([]int64, 0, len(f.corrupt))
	for s := range f.corrupt {
		ids = append(ids, int64(s))
	}
	return ids
}

var fileRuns sync.Map // *Env -> *fileRun

func fileRunOf(e *Env) *fileRun {
	v, loaded := fileRuns.LoadOrStore(e, &fileRun{corrupt: map[uint64]bool{}})
	if !loaded {
		e.OnClose(func() { fileRuns.Delete(e) })
	}
	return v.(*fileRun)
}

// goodImage is every healthy upload: a 64x64 gradient PNG; a corrupt
// upload is its first half, which fails to decode.
var goodImage = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(4 * x), uint8(4 * y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // an in-memory encode of a valid image
	}
	return b.Bytes()
}()

func corruptImage() []byte { return goodImage[:len(goodImage)/2] }

func uploadsURL(e *Env) string { return "http://" + e.Stack.ClientAddr(compose.SvcUploads, "main") }

// uploadFiles is PUT /files/{seq}; while the fault runs every
// corruptEvery-th is corrupt.
func uploadFiles(e *Env, f *fileRun) loadgen.Op {
	base := uploadsURL(e)
	put := &loadgen.HTTPOp{
		OpName: fileOp,
		Method: http.MethodPut,
		Client: e.HTTP,
		URL: func(seq uint64) (string, string) {
			id := strconv.FormatUint(seq, 10)
			return base + "/files/" + id, id
		},
		Body: func(seq uint64, _ string) []byte {
			if f.isCorrupt(seq) {
				return corruptImage()
			}
			return goodImage
		},
	}
	return loadgen.FuncOp(fileOp, func(ctx context.Context, seq uint64) loadgen.Result {
		if f.corrupting.Load() && seq%corruptEvery == 0 {
			f.mu.Lock()
			f.corrupt[seq] = true
			f.mu.Unlock()
			f.inFlight.Add(1)
			defer f.inFlight.Done()
		}
		return put.Do(ctx, seq)
	})
}

// settleUploadGroups waits until all eight members of the two instances
// own a partition.
func settleUploadGroups(ctx context.Context, e *Env) error {
	err := retryFor(ctx, 30*time.Second, func() error {
		total := 0.0
		for _, svc := range []string{compose.SvcUploads, compose.SvcUploadsB} {
			nums, _, err := e.Worker(svc).Stats(ctx)
			if err != nil {
				return err
			}
			if idle := nums["groups.process.idle"]; idle > 0 {
				return fmt.Errorf("%s: %.0f members without a partition", svc, idle)
			}
			total += nums["groups.process.members"]
		}
		if total != compose.UploadsPartitions {
			return fmt.Errorf("%.0f members, want %d", total, compose.UploadsPartitions)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("upload groups not settled: %w", err)
	}
	return warmUploads(ctx, e)
}

// warmFiles are uploaded before the load, with ids beyond any seq a run
// reaches, and processed: every member has fetched once, and the load's
// first second does not measure a cold start (p99 ~1 s at peak without).
const (
	warmFiles  = 2 * compose.UploadsPartitions
	warmFileID = 1 << 40
)

func warmUploads(ctx context.Context, e *Env) error {
	ids := make([]int64, warmFiles)
	for i := range ids {
		ids[i] = warmFileID + int64(i)
		if err := putUpload(ctx, e, uploadsURL(e)+"/files/"+strconv.FormatInt(ids[i], 10), goodImage); err != nil {
			return err
		}
	}
	conn, err := operator.Postgres(ctx, e.Topology, "main")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return retryFor(ctx, 30*time.Second, func() error {
		files, err := readProcessedFiles(ctx, conn, ids)
		if err != nil {
			return err
		}
		if n := unprocessed(files, ids); n > 0 {
			return fmt.Errorf("%d of %d warm-up files not processed", n, len(ids))
		}
		return nil
	})
}

// corruptUploads: corrupt uploads arrive while the fault runs. Recovery
// is the seed's: the files are repaired, the on-call replays the dead
// letters if the alert paged them, and (a deploy gone wrong) the second
// worker is SIGKILLed while it holds work a crash repeats.
func corruptUploads(e *Env) chaos.Fault {
	f := fileRunOf(e)
	return chaos.Func(fmt.Sprintf("every %dth upload a corrupt image", corruptEvery),
		func(context.Context) error { f.corrupting.Store(true); return nil },
		func(ctx context.Context) error {
			f.corrupting.Store(false)
			f.inFlight.Wait() // bounded by the ops' timeout
			if err := repairFiles(ctx, e, f.corruptIDs()); err != nil {
				return err
			}
			if _, err := replayIfPaged(ctx, e); err != nil {
				return err
			}
			return killMidPipeline(ctx, e)
		})
}

// repairFiles replaces the corrupt uploads' bodies in the raw store.
func repairFiles(ctx context.Context, e *Env, ids []int64) error {
	conn, err := operator.Postgres(ctx, e.Topology, "main")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE files SET body = $1 WHERE id = ANY($2)`, goodImage, ids); err != nil {
		return fmt.Errorf("repairing the corrupt files: %w", err)
	}
	return nil
}

// replayIfPaged replays the dead letters when either instance's alert
// fired this run: the on-call knows of them only from the page.
func replayIfPaged(ctx context.Context, e *Env) (int, error) {
	paged := false
	for _, svc := range []string{compose.SvcUploads, compose.SvcUploadsB} {
		nums, _, err := e.Worker(svc).Stats(ctx)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", svc, err)
		}
		paged = paged || nums["alert.raised"] > 0
	}
	if !paged {
		return 0, nil
	}
	return e.Worker(compose.SvcUploads).ReplayDeadLetters(ctx)
}

// killMidPipeline SIGKILLs the second instance once it holds records with
// a step done since its last commit.
func killMidPipeline(ctx context.Context, e *Env) error {
	w := e.Worker(compose.SvcUploadsB)
	deadline := time.Now().Add(killMidPipelineWithin)
	for {
		nums, _, err := w.Stats(ctx)
		if err == nil && nums["groups.process.uncommitted"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			e.Run.Notes = append(e.Run.Notes, fmt.Sprintf("%s held no uncommitted work within %v; killed anyway", compose.SvcUploadsB, killMidPipelineWithin))
			break
		}
		if !clock.Sleep(ctx, 20*time.Millisecond) {
			return ctx.Err()
		}
	}
	if err := e.Stack.Controller().Kill(ctx, compose.SvcUploadsB); err != nil {
		return fmt.Errorf("killing %s: %w", compose.SvcUploadsB, err)
	}
	return nil
}
