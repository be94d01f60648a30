package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/services/worker/knob"
)

// alert is a pipeline's page (pipeline.alarm), evaluated every
// scale_every while its protection is on; raised counts its rising edges
// since the last reset, and raisedAt is the latest one's time, for whoever
// is on call. The files pipeline's (depth_alert) fires while a group's oldest
// unfinished record is older than alert_age, or while the dead-letter
// topic holds records not replayed.
type alert struct {
	mu       sync.Mutex
	firing   bool
	raised   int64
	raisedAt time.Time
	why      string
}

type alertStats struct {
	Firing       bool    `json:"firing"`
	Raised       int64   `json:"raised"`
	RaisedAtUnix float64 `json:"raised_at_unix"` // the latest page since the reset; 0: none
	Why          string  `json:"why,omitempty"`
}

func (a *alert) set(firing bool, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if firing && !a.firing {
		a.raisedAt = time.Now()
		a.raised++
	}
	a.firing, a.why = firing, why
}

func (a *alert) stats() alertStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := alertStats{Firing: a.firing, Raised: a.raised, Why: a.why}
	if !a.raisedAt.IsZero() {
		s.RaisedAtUnix = float64(a.raisedAt.UnixNano()) / 1e9
	}
	return s
}

func (a *alert) reset() {
	a.mu.Lock()
	a.firing, a.raised, a.raisedAt, a.why = false, 0, time.Time{}, ""
	a.mu.Unlock()
}

func (w *worker) watchAlert(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.settings.get(knob.ScaleEvery)):
		}
		a := w.pipe.alarm
		if a.cause == nil || !w.prot.On(a.protection) {
			w.alert.set(false, "")
			continue
		}
		why := a.cause(w, ctx)
		w.alert.set(why != "", why)
	}
}

// depthAlarm is the files pipeline's page: why it fires now ("": it does
// not).
func depthAlarm(w *worker, ctx context.Context) string {
	age := w.settings.get(knob.AlertAge).Seconds()
	for _, n := range w.groupNames() {
		w.mu.Lock()
		l := w.lag[n]
		w.mu.Unlock()
		if l.Seconds > age {
			return fmt.Sprintf("group %s: oldest unfinished record %.1fs old", n, l.Seconds)
		}
	}
	if w.pipe.deadLetter == "" {
		return ""
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d, err := w.deadLetterCounts(cctx)
	switch {
	case err != nil:
		return "dead-letter topic unreadable: " + err.Error()
	case d.Waiting > 0:
		return fmt.Sprintf("%d dead letters waiting", d.Waiting)
	}
	return ""
}
