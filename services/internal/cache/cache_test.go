package cache

import (
	"sync"
	"testing"
	"time"
)

func TestTTLBounds(t *testing.T) {
	for _, tc := range []struct {
		name         string
		base, jitter time.Duration
	}{
		{"no jitter", 60 * time.Second, 0},
		{"negative jitter", 60 * time.Second, -time.Second},
		{"seed jitter", 60 * time.Second, 30 * time.Second},
		{"one nanosecond", time.Second, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := tc.base, tc.base+max(tc.jitter, 0)
			seen := map[bool]bool{}
			for range 2000 {
				d := TTL(tc.base, tc.jitter)
				if d < lo || d > hi {
					t.Fatalf("TTL(%v, %v) = %v, outside [%v, %v]", tc.base, tc.jitter, d, lo, hi)
				}
				seen[d == lo] = true
			}
			if tc.jitter > 0 && !seen[false] {
				t.Fatalf("TTL(%v, %v) never jittered", tc.base, tc.jitter)
			}
		})
	}
}

func TestL1FreshThenStale(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	l, err := NewL1[int64, string](100, 2*time.Second, clock)
	if err != nil {
		t.Fatal(err)
	}
	l.Set(1, "one")
	for _, tc := range []struct {
		after     time.Duration
		key       int64
		fresh, ok bool
	}{
		{0, 1, true, true},
		{1999 * time.Millisecond, 1, true, true},
		{time.Millisecond, 1, false, true}, // stale, still served as fallback
		{time.Hour, 1, false, true},
		{0, 2, false, false},
	} {
		advance(tc.after)
		v, fresh, ok := l.Get(tc.key)
		if fresh != tc.fresh || ok != tc.ok || (ok && v != "one") {
			t.Fatalf("Get(%d) = %q fresh=%v ok=%v, want fresh=%v ok=%v", tc.key, v, fresh, ok, tc.fresh, tc.ok)
		}
	}
	if err := l.SetTTL(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, fresh, _ := l.Get(1); !fresh {
		t.Fatal("longer TTL should make the entry fresh again")
	}
	if l.SetTTL(0) == nil {
		t.Fatal("SetTTL(0) accepted")
	}
	n := 0
	for range l.All() {
		n++
	}
	if n != 1 {
		t.Fatalf("All yielded %d entries, want 1", n)
	}
	l.Clear()
	if _, _, ok := l.Get(1); ok {
		t.Fatal("entry survived Clear")
	}
}

func TestL1Bounded(t *testing.T) {
	l, err := NewL1[int64, int64](50, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range int64(1000) {
		l.Set(i, i)
	}
	l.c.CleanUp()
	if n := l.Len(); n > 50 {
		t.Fatalf("L1 holds %d entries, bound is 50", n)
	}
}

func TestNewL1RejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		size int
		ttl  time.Duration
	}{{0, time.Second}, {-1, time.Second}, {10, 0}} {
		if _, err := NewL1[int64, int64](tc.size, tc.ttl, nil); err == nil {
			t.Fatalf("NewL1(%d, %v) succeeded", tc.size, tc.ttl)
		}
	}
}

func TestRedisOptions(t *testing.T) {
	for _, tc := range []struct {
		addr string
		pool int
		ok   bool
	}{
		{"127.0.0.1:6379", 64, true},
		{"localhost", 64, false},
		{"127.0.0.1:6379", 0, false},
	} {
		o, err := RedisOptions(tc.addr, tc.pool)
		if (err == nil) != tc.ok {
			t.Fatalf("RedisOptions(%q, %d) error = %v, want ok=%v", tc.addr, tc.pool, err, tc.ok)
		}
		if tc.ok && (o.MaxRetries != -1 || o.DialTimeout > 200*time.Millisecond) {
			t.Fatalf("options are not fail-fast: %+v", o)
		}
	}
}
