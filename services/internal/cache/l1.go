// Package cache holds the service's cache layers: the in-process L1, the
// Redis client settings and the TTL policy for Redis entries.
package cache

import (
	"fmt"
	"iter"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
)

// L1 is an in-process cache bounded by entry count. An entry is fresh for
// the TTL and afterwards stale but kept until evicted for space, because a
// stale copy is still the best answer when Redis and the database cannot
// give one (the seed's "serve stale" layer).
type L1[K comparable, V any] struct {
	c   *otter.Cache[K, l1Entry[V]]
	ttl atomic.Int64 // nanoseconds
	now func() time.Time
}

type l1Entry[V any] struct {
	v  V
	at int64 // unix nanoseconds when stored
}

// NewL1 returns an L1 holding at most size entries, fresh for ttl. now is
// the clock; nil means time.Now.
func NewL1[K comparable, V any](size int, ttl time.Duration, now func() time.Time) (*L1[K, V], error) {
	if size < 1 {
		return nil, fmt.Errorf("l1 size must be at least 1, got %d", size)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("l1 ttl must be positive, got %v", ttl)
	}
	c, err := otter.New(&otter.Options[K, l1Entry[V]]{MaximumSize: size})
	if err != nil {
		return nil, fmt.Errorf("l1: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	l := &L1[K, V]{c: c, now: now}
	l.ttl.Store(int64(ttl))
	return l, nil
}

// Get returns the cached value and whether it is still fresh. ok is false
// when nothing is cached for k.
func (l *L1[K, V]) Get(k K) (v V, fresh, ok bool) {
	e, ok := l.c.GetIfPresent(k)
	if !ok {
		return v, false, false
	}
	return e.v, l.now().UnixNano()-e.at < l.ttl.Load(), true
}

// Set stores v as fresh.
func (l *L1[K, V]) Set(k K, v V) { l.c.Set(k, l1Entry[V]{v: v, at: l.now().UnixNano()}) }

// All iterates over every entry, fresh or stale.
func (l *L1[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for k, e := range l.c.All() {
			if !yield(k, e.v) {
				return
			}
		}
	}
}

// Clear drops every entry.
func (l *L1[K, V]) Clear() { l.c.InvalidateAll() }

// Len is the approximate number of entries.
func (l *L1[K, V]) Len() int { return l.c.EstimatedSize() }

// SetTTL changes the freshness period; it applies to entries already stored.
func (l *L1[K, V]) SetTTL(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("l1 ttl must be positive, got %v", d)
	}
	l.ttl.Store(int64(d))
	return nil
}

// TTL returns the freshness period.
func (l *L1[K, V]) TTL() time.Duration { return time.Duration(l.ttl.Load()) }
