package main

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/whatif-lab/whatif/services/worker/knob"
)

// lagEvery is how often the worker asks the broker for its groups' lag.
const lagEvery = 500 * time.Millisecond

// watchLag keeps each group's lag and the topic's depth current until ctx
// ends. Lag comes from the group's committed offsets against the end
// offsets (kadm.Lag); the broker's own log-dir figures are not used.
func (w *worker) watchLag(ctx context.Context) {
	if w.adm == nil {
		return // a pipeline without a topic
	}
	t := time.NewTicker(lagEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.measureLag(ctx)
	}
}

func (w *worker) measureLag(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	names := w.groupNames()
	lags, err := w.adm.Lag(cctx, names...)
	starts, serr := w.adm.ListStartOffsets(cctx, w.cfg.topic)
	ends, eerr := w.adm.ListEndOffsets(cctx, w.cfg.topic)
	now := time.Now()
	out := map[string]groupLag{}
	failed := err != nil
	if err == nil {
		for _, n := range names {
			g, ok := w.group(n)
			dl, have := lags[n]
			if !ok || !have || dl.Error() != nil {
				failed = true
				continue
			}
			out[n] = lagOf(dl.Lag, w.cfg.topic, g.ledger, now)
		}
	}
	var depth int64
	if serr == nil && eerr == nil {
		ends.Each(func(e kadm.ListedOffset) {
			if s, ok := starts.Lookup(e.Topic, e.Partition); ok && s.Err == nil && e.Err == nil {
				depth += e.Offset - s.Offset
			}
		})
	} else {
		failed = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for n, l := range out {
		if _, live := w.groups[n]; live {
			w.lag[n] = l
		}
	}
	if serr == nil && eerr == nil {
		w.depth = depth
	}
	if failed {
		w.lagErrs++
	}
}

// lagOf sums a group's lag over the topic's partitions. Its age bounds
// the oldest unfinished record's from above, per lagging partition: that
// record came after the last one the group finished there, and after the
// last look that saw the partition caught up (or the group's start); the
// largest over the partitions. The second bound matters where records are
// sparse: one arriving long after its predecessor is not old.
func lagOf(gl kadm.GroupLag, topic string, l *ledger, now time.Time) groupLag {
	var out groupLag
	for p, m := range gl[topic] {
		switch {
		case m.Err != nil || m.Lag < 0:
			continue
		case m.Lag == 0:
			l.caughtUp(p, now)
			continue
		}
		out.Records += m.Lag
		out.Seconds = max(out.Seconds, now.Sub(l.oldestPossible(p)).Seconds())
	}
	return out
}

// autoscale grows the pool while a group's lag is older than scale_lag,
// checked every scale_every, up to the partition count, while the
// protection is on: a gated pipeline doubles its encoders (the work is
// shared, and the seed scales encoders on queue depth), others add a
// member to each lagging group. It learns from the lag the broker
// reports, not from the work's cost.
func (w *worker) autoscale(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.settings.get(knob.ScaleEvery)):
		}
		if !w.prot.On(protAutoscale) {
			continue
		}
		slo := w.settings.get(knob.ScaleLag).Seconds()
		lagging := false
		for _, n := range w.groupNames() {
			w.mu.Lock()
			l := w.lag[n]
			w.mu.Unlock()
			g, ok := w.group(n)
			if !ok || l.Seconds <= slo {
				continue
			}
			lagging = true
			if w.gate == nil {
				_ = g.grow(w.parts) // a member that fails to start is tried again next tick
			}
		}
		if lagging && w.gate != nil {
			w.gate.double(w.parts)
		}
	}
}
