package main

import (
	"sync"

	"github.com/jackc/pglogrepl"
)

// flushTracker follows the connector's transactions from the slot to the
// broker's acknowledgement. A transaction is done once it is closed (its
// commit read) and every record produced from it is acknowledged; the
// confirmable position is the end of the longest prefix of done
// transactions, in commit order. That is what a connector may report to
// Postgres as flushed: the slot then never moves past an event the broker
// does not hold, and a restart replays from there.
type flushTracker struct {
	mu      sync.Mutex
	open    []*txn // in commit order; the head is the oldest not yet done
	acked   pglogrepl.LSN
	done    []doneTxn // done but not yet reported to Postgres
	report  pglogrepl.LSN
	records int64 // produced, acknowledged or not
	ackedN  int64
}

// txn is one transaction read from the slot.
type txn struct {
	end         pglogrepl.LSN // its end, set at commit
	closed      bool
	outstanding int
	payments    int
}

type doneTxn struct {
	end      pglogrepl.LSN
	payments int
}

func (f *flushTracker) begin() *txn {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &txn{}
	f.open = append(f.open, t)
	return t
}

// produced counts one record of t about to be produced.
func (f *flushTracker) produced(t *txn, payment bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t.outstanding++
	if payment {
		t.payments++
	}
	f.records++
}

// commit closes t at its end position.
func (f *flushTracker) commit(t *txn, end pglogrepl.LSN) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t.end, t.closed = end, true
	f.advance()
}

// ack is the broker's acknowledgement of one record of t.
func (f *flushTracker) ack(t *txn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t.outstanding--
	f.ackedN++
	f.advance()
}

func (f *flushTracker) advance() {
	for len(f.open) > 0 && f.open[0].closed && f.open[0].outstanding == 0 {
		t := f.open[0]
		f.open = f.open[1:]
		f.acked = max(f.acked, t.end)
		f.done = append(f.done, doneTxn{t.end, t.payments})
	}
}

// confirmable is the position every event before which the broker holds.
func (f *flushTracker) confirmable() pglogrepl.LSN {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acked
}

// reported records what was sent to Postgres as flushed.
func (f *flushTracker) reported(lsn pglogrepl.LSN) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.report = max(f.report, lsn)
	i := 0
	for i < len(f.done) && f.done[i].end <= f.report {
		i++
	}
	f.done = f.done[i:]
}

// flushStats are the tracker's figures for /admin/stats.
type flushStats struct {
	Produced int64 `json:"produced"`
	Acked    int64 `json:"acked"`
	// Unconfirmed counts payment events the broker holds but Postgres was
	// not told of: what a restart from the slot publishes again.
	Unconfirmed int64  `json:"unconfirmed"`
	AckedLSN    string `json:"acked_lsn"`
	Reported    string `json:"reported_lsn"`
}

func (f *flushTracker) stats() flushStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := flushStats{Produced: f.records, Acked: f.ackedN, AckedLSN: f.acked.String(), Reported: f.report.String()}
	for _, d := range f.done {
		if d.end > f.report {
			s.Unconfirmed += int64(d.payments)
		}
	}
	return s
}
