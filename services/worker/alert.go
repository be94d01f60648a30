package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/services/worker/knob"
)

// alert is the seed's page on queue depth: it fires while a group's
// oldest unfinished record is older than alert_age, or while the
// dead-letter topic holds records not replayed. Evaluated every
// scale_every while depth_alert is on; raised counts its rising edges
// since the last reset, for whoever is on call.
type alert struct {
	mu     sync.Mutex
	firing bool
	raised int64
	why    string
}

type alertStats struct {
	Firing bool   `json:"firing"`
	Raised int64  `json:"raised"`
	Why    string `json:"why,omitempty"`
}

func (a *alert) set(firing bool, why string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if firing && !a.firing {
		a.raised++
	}
	a.firing, a.why = firing, why
}

func (a *alert) stats() alertStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return alertStats{Firing: a.firing, Raised: a.raised, Why: a.why}
}

func (a *alert) reset() { a.mu.Lock(); a.firing, a.raised, a.why = false, 0, ""; a.mu.Unlock() }

func (w *worker) watchAlert(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.settings.get(knob.ScaleEvery)):
		}
		if !w.prot.On(protDepthAlert) {
			w.alert.set(false, "")
			continue
		}
		why := w.alertCause(ctx)
		w.alert.set(why != "", why)
	}
}

// alertCause is why the alert fires now ("": it does not).
func (w *worker) alertCause(ctx context.Context) string {
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
