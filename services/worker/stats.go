package main

import (
	"net/http"
	"time"

	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// groupStats is one group in GET /admin/stats. Records and the error
// counts are monotonic over the process's life (the runner differences
// them per second); members, scale-ups, lag and the delay histogram are
// the current run's (since the last reset or rebuild).
type groupStats struct {
	Running      bool             `json:"running"`
	Members      int              `json:"members"`
	Idle         int              `json:"idle"` // members that own no partition (beyond the partition count, or between assignments)
	Records      int64            `json:"records"`
	StepErrors   int64            `json:"step_errors"`
	Poison       int64            `json:"poison"`
	DeadLetters  int64            `json:"dead_letters"`
	Uncommitted  int64            `json:"uncommitted"` // records with a step done since their member's last commit: what a crash would repeat
	FetchErrors  int64            `json:"fetch_errors"`
	CommitErrors int64            `json:"commit_errors"`
	ScaleUps     int64            `json:"scale_ups"`
	Lag          groupLag         `json:"lag"`
	Delay        map[string]int64 `json:"delay"` // events finished within each bound since the reset, cumulative
}

type statsJSON struct {
	Pipeline   string                `json:"pipeline"`
	Topic      string                `json:"topic"`
	Depth      int64                 `json:"depth"` // records the topic holds (end - start over partitions)
	LagErrors  int64                 `json:"lag_errors"`
	Groups     map[string]groupStats `json:"groups"`
	Encoders   *gateStats            `json:"encoders,omitempty"` // a gated pipeline's encoders: size, busy, waiting
	Connector  *connectorStats       `json:"connector,omitempty"`
	Payments   *paymentStats         `json:"payments,omitempty"`
	Booking    *bookingStats         `json:"booking,omitempty"`
	Alert      alertStats            `json:"alert"`
	Protection map[string]bool       `json:"protections"`
	BootUnix   float64               `json:"boot_unix"`
}

var boot = time.Now()

func (w *worker) stats() statsJSON {
	w.mu.Lock()
	out := statsJSON{
		Pipeline: w.cfg.pipeline, Topic: w.cfg.topic, Depth: w.depth, LagErrors: w.lagErrs,
		Groups: map[string]groupStats{}, Protection: w.prot.Snapshot(),
		BootUnix: float64(boot.UnixNano()) / 1e9, Alert: w.alert.stats(),
	}
	if w.conn != nil {
		c := w.conn.stats()
		out.Connector = &c
	}
	if w.pay != nil {
		p := w.pay.stats()
		out.Payments = &p
	}
	if w.book != nil {
		b := w.book.stats()
		out.Booking = &b
	}
	live := map[string]*group{}
	for n, g := range w.groups {
		live[n] = g
	}
	lags := map[string]groupLag{}
	for n, l := range w.lag {
		lags[n] = l
	}
	counters := map[string]*memberCounters{}
	for n, c := range w.counters {
		counters[n] = c
	}
	w.mu.Unlock()
	if w.gate != nil {
		gs := w.gate.stats()
		out.Encoders = &gs
	}
	for n, c := range counters {
		s := groupStats{
			Records: c.records.Load(), StepErrors: c.stepErrors.Load(), Poison: c.poison.Load(), DeadLetters: c.dead.Load(),
			FetchErrors: c.fetchErrs.Load(), CommitErrors: c.commitErrs.Load(), Delay: map[string]int64{},
		}
		if g, ok := live[n]; ok {
			s.Running, s.Members, s.Idle, s.Lag, s.Delay = true, g.size(), g.idle(), lags[n], g.ledger.delayCounts()
			s.Uncommitted = g.uncommitted()
			g.mu.Lock()
			s.ScaleUps = g.scaleUps
			g.mu.Unlock()
		}
		out.Groups[n] = s
	}
	return out
}

func (w *worker) getStats(rw http.ResponseWriter, r *http.Request) {
	httpx.JSON(rw, http.StatusOK, w.stats())
}
