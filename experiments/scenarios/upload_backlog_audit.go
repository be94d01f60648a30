package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/internal/clock"
)

// processedFile is one stored upload as the database has it.
type processedFile struct {
	uploaded float64 // unix seconds
	done     float64 // when its last step first took effect; 0 = not yet
	repeats  int64   // side effects done more than once, over its steps
}

// auditFiles relaunches the killed instance, and in protected runs lets
// the paged on-call replay what reached the dead-letter topic after the
// first replay and waits until every acknowledged upload is processed;
// then it reads from the database, as a reconciliation would, when each
// acknowledged upload was stored and processed and how often each side
// effect happened, and from the dead-letter topic what it holds.
func auditFiles(ctx context.Context, e *Env, r *Run) error {
	if err := relaunchWorker(ctx, e, compose.SvcUploadsB, uploadProtections); err != nil {
		return err
	}
	ids, err := ackedIDs(e, fileOp, "upload")
	if err != nil {
		return err
	}
	conn, err := operator.Postgres(ctx, e.Topology, "main")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	read := func() (map[int64]processedFile, error) { return readProcessedFiles(ctx, conn, ids) }
	files, err := read()
	if err != nil {
		return err
	}
	if e.Variant == Protected {
		n, err := replayIfPaged(ctx, e)
		if err != nil {
			return err
		}
		r.SetFact("replayed_in_audit", float64(n))
		deadline := time.Now().Add(drainLimit)
		for unprocessed(files, ids) > 0 && time.Now().Before(deadline) {
			if !clock.Sleep(ctx, 500*time.Millisecond) {
				return ctx.Err()
			}
			if files, err = read(); err != nil {
				return err
			}
		}
	}
	dl, err := e.Worker(compose.SvcUploads).DeadLetters(ctx)
	if err != nil {
		return fmt.Errorf("dead letters: %w", err)
	}
	corrupt := map[int64]bool{}
	for _, id := range fileRunOf(e).corruptIDs() {
		corrupt[id] = true
	}
	now := float64(time.Now().UnixNano()) / 1e9
	start := float64(r.Start.UnixNano()) / 1e9
	var base, fault []float64
	var repeats, corruptAcked int64
	for _, id := range ids {
		f, ok := files[id]
		if !ok {
			return fmt.Errorf("upload %d was acknowledged but is not stored", id)
		}
		repeats += f.repeats
		if corrupt[id] {
			corruptAcked++
			continue
		}
		wait := now - f.uploaded // not processed yet: at least this
		if f.done > 0 {
			wait = f.done - f.uploaded
		}
		switch at := time.Duration((f.uploaded - start) * 1e9); {
		case at < r.FaultAt:
			base = append(base, wait)
		case at < r.RecoverAt:
			fault = append(fault, wait)
		}
	}
	if len(base) == 0 || len(fault) == 0 || corruptAcked == 0 {
		return fmt.Errorf("healthy uploads before the fault: %d, during it: %d, corrupt ones: %d; need all three", len(base), len(fault), corruptAcked)
	}
	// the dead-letter topic holds corrupt uploads, each once; one repaired
	// before its third attempt rightly is not there
	seen := map[int64]int{}
	for _, id := range dl.IDs {
		seen[id]++
	}
	var wrong, corruptDead int64
	for id, n := range seen {
		if !corrupt[id] {
			wrong += int64(n)
			continue
		}
		corruptDead++
		wrong += int64(n - 1)
	}
	pb, pf := p99Of(base), p99Of(fault)
	r.SetFact("uploads_acked", float64(len(ids)))
	r.SetFact("corrupt_acked", float64(corruptAcked))
	r.SetFact("dead_letters", float64(dl.Records))
	r.SetFact("dead_letters_replayed", float64(dl.Replayed))
	r.SetFact("dead_letters_wrong", float64(wrong))
	r.SetFact("corrupt_dead_lettered", float64(corruptDead))
	r.SetFact("effects_repeated", float64(repeats))
	r.SetFact("files_unprocessed", float64(unprocessed(files, ids)))
	r.SetFact("healthy_p99_baseline", pb)
	r.SetFact("healthy_p99_fault", pf)
	r.SetFact("healthy_p99_ratio", pf/max(pb, 0.001))
	return nil
}

func unprocessed(files map[int64]processedFile, ids []int64) int {
	n := 0
	for _, id := range ids {
		if files[id].done == 0 {
			n++
		}
	}
	return n
}

// readProcessedFiles reads the given uploads, their last step's first
// effect and their repeated effects.
func readProcessedFiles(ctx context.Context, conn *pgx.Conn, ids []int64) (map[int64]processedFile, error) {
	rows, err := conn.Query(ctx, `SELECT f.id, extract(epoch FROM f.uploaded_at)::float8,
			extract(epoch FROM max(e.first_at) FILTER (WHERE e.step = 'moderate'))::float8,
			coalesce(sum(e.times - 1), 0)
		FROM files f LEFT JOIN file_effects e ON e.file_id = f.id
		WHERE f.id = ANY($1) GROUP BY f.id`, ids)
	if err != nil {
		return nil, fmt.Errorf("reading processed files: %w", err)
	}
	defer rows.Close()
	out := map[int64]processedFile{}
	for rows.Next() {
		var id int64
		var f processedFile
		var done *float64
		if err := rows.Scan(&id, &f.uploaded, &done, &f.repeats); err != nil {
			return nil, err
		}
		if done != nil {
			f.done = *done
		}
		out[id] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading processed files: %w", err)
	}
	return out, nil
}
