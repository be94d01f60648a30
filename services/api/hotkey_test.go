package main

import (
	"testing"
	"time"
)

func TestKeySlot(t *testing.T) {
	// values from CLUSTER KEYSLOT on Redis 7.0
	cases := map[string]int{
		"foo": 12182, "bar": 5061, "hello": 866, "": 0,
		"{user1000}.following": 3443, "{user1000}.followers": 3443, "user1000": 3443,
		"foo{}{bar}": keySlot("foo{}{bar}"), // empty first tag: the whole key
		"product:1":  keySlot("product:1"),
	}
	for k, want := range cases {
		if got := keySlot(k); got != want {
			t.Errorf("keySlot(%q) = %d, want %d", k, got, want)
		}
	}
	if keySlot("foo{}{bar}") == keySlot("bar") {
		t.Error("an empty first hash tag must hash the whole key")
	}
}

func TestSpreadCopies(t *testing.T) {
	thirds := func(slot int) (string, bool) {
		return []string{"rc0", "rc1", "rc2"}[slot*3/16384], true
	}
	nodes := []string{"rc0", "rc1", "rc2"}
	cases := []struct {
		key     string
		perNode int
		owner   slotOwner
		wantErr bool
	}{
		{"product:1", 1, thirds, false},
		{"product:1", 2, thirds, false},
		{"product:77", 5, thirds, false},
		{"product:1", 0, thirds, true},
		// a node that owns no slot can get no copy
		{"product:1", 1, func(slot int) (string, bool) { return nodes[slot%2], true }, true},
	}
	for _, c := range cases {
		got, err := spreadCopies(c.key, nodes, c.perNode, c.owner)
		if (err != nil) != c.wantErr {
			t.Fatalf("%s x%d: err %v", c.key, c.perNode, err)
		}
		if err != nil {
			continue
		}
		per := map[string]int{}
		seen := map[string]bool{}
		for _, k := range got {
			n, _ := c.owner(keySlot(k))
			per[n]++
			if seen[k] {
				t.Errorf("%s: copy %s twice", c.key, k)
			}
			seen[k] = true
		}
		for _, n := range nodes {
			if per[n] != c.perNode {
				t.Errorf("%s x%d: node %s has %d copies (%v)", c.key, c.perNode, n, per[n], got)
			}
		}
	}
}

func TestHotKeys(t *testing.T) {
	t0 := time.Unix(1000, 0)
	h := newHotKeys(3, 2)
	steps := []struct {
		id   int64
		at   time.Duration
		want bool
	}{
		{1, 0, false},
		{1, 100 * time.Millisecond, false},
		{1, 200 * time.Millisecond, true}, // third read this second
		{2, 300 * time.Millisecond, false},
		{3, 400 * time.Millisecond, false},  // past maxTracked: not counted
		{3, 500 * time.Millisecond, false},  // still not counted
		{3, 600 * time.Millisecond, false},  // never becomes hot this second
		{1, 1100 * time.Millisecond, true},  // hot last second
		{1, 2100 * time.Millisecond, false}, // one read in second 1001: cooled down
		{1, 5 * time.Second, false},         // gap: both windows reset
		{2, 5*time.Second + 100*time.Millisecond, false},
	}
	for i, s := range steps {
		if got := h.Read(s.id, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: Read(%d, +%v) = %v, want %v", i, s.id, s.at, got, s.want)
		}
	}
	h2 := newHotKeys(2, 10)
	h2.Read(7, t0)
	h2.Read(7, t0)
	if got := h2.Hot(t0.Add(time.Second)); len(got) != 1 || got[0] != 7 {
		t.Errorf("Hot = %v, want [7]", got)
	}
}
