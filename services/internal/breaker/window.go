package breaker

import "time"

// window counts calls and failures over the last span of time in fixed
// buckets, so old outcomes age out without keeping one record per call.
type window struct {
	bucket  time.Duration
	buckets []counts
	starts  []time.Time // start of the period each bucket currently holds
}

type counts struct{ calls, failures int }

func newWindow(span time.Duration, n int) *window {
	return &window{
		bucket:  span / time.Duration(n),
		buckets: make([]counts, n),
		starts:  make([]time.Time, n),
	}
}

func (w *window) slot(now time.Time) int {
	// Bucket index from the absolute time so it does not depend on when the
	// window was created.
	return int((now.UnixNano() / int64(w.bucket)) % int64(len(w.buckets)))
}

func (w *window) add(now time.Time, failed bool) {
	i := w.slot(now)
	start := now.Truncate(w.bucket)
	if !w.starts[i].Equal(start) {
		w.starts[i] = start
		w.buckets[i] = counts{}
	}
	w.buckets[i].calls++
	if failed {
		w.buckets[i].failures++
	}
}

// sum totals the buckets whose period lies within the span ending at now.
func (w *window) sum(now time.Time) counts {
	var c counts
	oldest := now.Truncate(w.bucket).Add(-w.bucket * time.Duration(len(w.buckets)-1))
	for i, b := range w.buckets {
		if w.starts[i].Before(oldest) {
			continue
		}
		c.calls += b.calls
		c.failures += b.failures
	}
	return c
}

func (w *window) reset() {
	clear(w.buckets)
	clear(w.starts)
}
