package loadgen

import (
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms record microseconds from 1 µs to 5 min, 3 significant
// figures.
const (
	histMin     = 1
	histMax     = 5 * 60 * 1e6
	histSigFigs = 3
)

// A live histogram of this range is ~160 KiB whatever it holds, so one per
// op per second would cost hundreds of MiB over a long run. Seconds that no
// longer receive results are therefore frozen into a sparse list of
// (value, count) pairs, and live histograms are recycled through this pool.
var histPool = sync.Pool{New: func() any { return newHist() }}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(histMin, histMax, histSigFigs) }

// bucket holds the counts of one op in one scheduled second.
type bucket struct {
	offered, sent, dropped  int64
	completed, ok, degraded int64
	canceled, attempts      int64
	errors                  map[string]int64
	codes                   map[int]int64
	live                    *hdrhistogram.Histogram // nil when frozen or empty
	frozen                  []hdrhistogram.Bar      // From = a value of the bar, Count > 0
}

func (b *bucket) record(r Result) {
	b.attempts += int64(r.Attempts)
	if r.Code != 0 {
		if b.codes == nil {
			b.codes = map[int]int64{}
		}
		b.codes[r.Code]++
	}
	if r.ErrClass == ClassCanceled {
		b.canceled++ // cut short by the caller: neither success nor a server fault
		return
	}
	b.completed++
	switch {
	case r.OK():
		b.ok++
		if r.Degraded {
			b.degraded++
		}
	case r.Degraded:
		b.degraded++
	default:
		class := r.ErrClass
		if class == ClassNone {
			class = ClassOther // e.g. a 3xx: not OK, yet no class from the op
		}
		if b.errors == nil {
			b.errors = map[string]int64{}
		}
		b.errors[class]++
	}
	b.thaw()
	us := r.Latency.Microseconds()
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	_ = b.live.RecordValue(us) // cannot fail: clamped to the range
}

// thaw makes the live histogram available again, e.g. for a straggler that
// completes after its second was frozen.
func (b *bucket) thaw() {
	if b.live != nil {
		return
	}
	b.live = histPool.Get().(*hdrhistogram.Histogram)
	for _, bar := range b.frozen {
		_ = b.live.RecordValues(bar.From, bar.Count)
	}
	b.frozen = nil
}

// freeze trades the live histogram for its sparse form.
func (b *bucket) freeze() {
	if b.live == nil {
		return
	}
	for _, bar := range b.live.Distribution() {
		if bar.Count > 0 {
			b.frozen = append(b.frozen, bar)
		}
	}
	b.live.Reset()
	histPool.Put(b.live)
	b.live = nil
}

// mergeInto adds the bucket's latencies to h.
func (b *bucket) mergeInto(h *hdrhistogram.Histogram) {
	if b.live != nil {
		h.Merge(b.live)
	}
	for _, bar := range b.frozen {
		_ = h.RecordValues(bar.From, bar.Count)
	}
}
