package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// The dead-letter topic holds records a step failed on deadLetterAfter
// times; an operator replays them to the pipeline's topic once the cause
// is fixed. What was replayed is the replay group's committed offsets.

func (w *worker) deadLettering() bool {
	return w.pipe.deadLetter != "" && w.prot.On(protDeadLetter)
}

// deadLetter produces the record to the dead-letter topic (acks=all),
// with the last error as a header.
func (w *worker) deadLetter(ctx context.Context, r *kgo.Record, cause error) error {
	rec := &kgo.Record{Topic: w.pipe.deadLetter, Key: r.Key, Value: r.Value,
		Headers: []kgo.RecordHeader{{Key: "error", Value: []byte(cause.Error())}}}
	return w.prod.ProduceSync(ctx, rec).FirstErr()
}

func (w *worker) replayGroup() string { return w.pipe.deadLetter + ".replay" }

// deadLetters is what the dead-letter topic holds since the last reset,
// and how much of it was replayed.
type deadLetters struct {
	Records  int64   `json:"records"`
	Replayed int64   `json:"replayed"`
	Waiting  int64   `json:"waiting"` // records - replayed
	IDs      []int64 `json:"ids,omitempty"`
}

// dlqOffsets are, per partition, the first record not replayed and the end.
func (w *worker) dlqOffsets(ctx context.Context) (from, start, end map[int32]int64, err error) {
	topic := w.pipe.deadLetter
	starts, err := w.adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dead-letter start offsets: %w", err)
	}
	ends, err := w.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("dead-letter end offsets: %w", err)
	}
	// kfake answers a group that never committed with GroupIDNotFound
	done, err := w.adm.FetchOffsets(ctx, w.replayGroup())
	if err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
		return nil, nil, nil, fmt.Errorf("replayed offsets: %w", err)
	}
	from, start, end = map[int32]int64{}, map[int32]int64{}, map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { end[o.Partition] = o.Offset })
	starts.Each(func(o kadm.ListedOffset) {
		start[o.Partition] = o.Offset
		from[o.Partition] = o.Offset
		if c, ok := done.Lookup(topic, o.Partition); ok && c.Err == nil && c.At > o.Offset {
			from[o.Partition] = c.At
		}
	})
	return from, start, end, nil
}

func (w *worker) deadLetterCounts(ctx context.Context) (deadLetters, error) {
	from, start, end, err := w.dlqOffsets(ctx)
	if err != nil {
		return deadLetters{}, err
	}
	return countDeadLetters(from, start, end), nil
}

func countDeadLetters(from, start, end map[int32]int64) deadLetters {
	var d deadLetters
	for p, e := range end {
		d.Records += e - start[p]
		d.Replayed += from[p] - start[p]
	}
	d.Waiting = d.Records - d.Replayed
	return d
}

// readDeadLetters reads the topic's records in [from, end) per partition
// and hands each to each, in order.
func (w *worker) readDeadLetters(ctx context.Context, from, end map[int32]int64, each func(*kgo.Record) error) error {
	want := map[int32]kgo.Offset{}
	left := 0
	for p, e := range end {
		if e > from[p] {
			want[p] = kgo.NewOffset().At(from[p])
			left += int(e - from[p])
		}
	}
	if left == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(w.cfg.broker),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{w.pipe.deadLetter: want}))
	if err != nil {
		return err
	}
	defer cl.Close()
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("reading the dead-letter topic, %d records left: %w", left, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return fmt.Errorf("reading the dead-letter topic: %w", ferr)
		}
		for _, r := range fs.Records() {
			if r.Offset >= end[r.Partition] {
				continue
			}
			if err := each(r); err != nil {
				return err
			}
			left--
		}
	}
	return nil
}

// dlqTimeout bounds reading or replaying the dead-letter topic.
const dlqTimeout = 30 * time.Second

// getDeadLetters answers what the dead-letter topic holds, with the ids
// of every record in it since the last reset.
func (w *worker) getDeadLetters(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), dlqTimeout)
	defer cancel()
	from, start, end, err := w.dlqOffsets(ctx)
	if err != nil {
		httpx.Error(rw, http.StatusServiceUnavailable, err.Error())
		return
	}
	d := countDeadLetters(from, start, end)
	d.IDs = []int64{}
	err = w.readDeadLetters(ctx, start, end, func(rec *kgo.Record) error {
		id, err := strconv.ParseInt(string(rec.Key), 10, 64)
		if err != nil {
			return fmt.Errorf("dead letter at %d/%d: key %q is not an id", rec.Partition, rec.Offset, rec.Key)
		}
		d.IDs = append(d.IDs, id)
		return nil
	})
	if err != nil {
		httpx.Error(rw, http.StatusServiceUnavailable, err.Error())
		return
	}
	httpx.JSON(rw, http.StatusOK, d)
}

// postReplay produces every dead letter not yet replayed back to the
// pipeline's topic (acks=all), then commits the replay group's offsets:
// a replay cut short is done again, not skipped.
func (w *worker) postReplay(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), dlqTimeout)
	defer cancel()
	n, err := w.replay(ctx)
	if err != nil {
		httpx.Error(rw, http.StatusServiceUnavailable, fmt.Sprintf("replay: %v (%d records replayed first)", err, n))
		return
	}
	httpx.JSON(rw, http.StatusOK, map[string]any{"replayed": n})
}

func (w *worker) replay(ctx context.Context) (int, error) {
	from, _, end, err := w.dlqOffsets(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	err = w.readDeadLetters(ctx, from, end, func(rec *kgo.Record) error {
		if err := w.prod.ProduceSync(ctx, &kgo.Record{Topic: w.cfg.topic, Key: rec.Key, Value: rec.Value}).FirstErr(); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	offs := kadm.Offsets{}
	for p, e := range end {
		offs.AddOffset(w.pipe.deadLetter, p, e, -1)
	}
	resp, err := w.adm.CommitOffsets(ctx, w.replayGroup(), offs)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		return n, fmt.Errorf("committing what was replayed: %w", err)
	}
	return n, nil
}

// resetDeadLetters empties the dead-letter topic and forgets what was
// replayed.
func (w *worker) resetDeadLetters(ctx context.Context) error {
	if w.pipe.deadLetter == "" {
		return nil
	}
	if err := w.emptyTopic(ctx, w.pipe.deadLetter); err != nil {
		return err
	}
	resp, err := w.adm.DeleteGroups(ctx, w.replayGroup())
	if err == nil {
		if r, ok := resp[w.replayGroup()]; ok && r.Err != nil && !errors.Is(r.Err, kerr.GroupIDNotFound) {
			err = r.Err
		}
	}
	if err != nil {
		return fmt.Errorf("forgetting the replay: %w", err)
	}
	return nil
}
