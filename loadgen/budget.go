package loadgen

import (
	"sync"
	"time"
)

// retryBudget allows a retry only while retries stay within ratio x first
// attempts over the last second. It is a sliding-window counter of ten
// 100 ms slots: cheap, bounded memory, and old traffic ages out so a burst
// of failures an hour ago does not fund a retry storm now.
type retryBudget struct {
	mu    sync.Mutex
	ratio float64
	slots [budgetSlots]budgetSlot
}

const (
	budgetSlots   = 10
	budgetSlotLen = 100 * time.Millisecond
)

type budgetSlot struct {
	epoch          int64 // which 100 ms interval this slot currently counts
	first, retries int64
}

func newRetryBudget(ratio float64) *retryBudget {
	if ratio <= 0 {
		return nil // unlimited
	}
	return &retryBudget{ratio: ratio}
}

func (b *retryBudget) slot(now time.Time) *budgetSlot {
	e := now.UnixNano() / int64(budgetSlotLen)
	s := &b.slots[e%budgetSlots]
	if s.epoch != e {
		*s = budgetSlot{epoch: e}
	}
	return s
}

// first records a first attempt.
func (b *retryBudget) first(now time.Time) {
	b.mu.Lock()
	b.slot(now).first++
	b.mu.Unlock()
}

// tryRetry takes one retry from the budget if the window still allows it.
func (b *retryBudget) tryRetry(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.slot(now)
	var first, retries int64
	for i := range b.slots {
		if s := &b.slots[i]; s.epoch > cur.epoch-budgetSlots {
			first += s.first
			retries += s.retries
		}
	}
	if float64(retries+1) > b.ratio*float64(first) {
		return false
	}
	cur.retries++
	return true
}
