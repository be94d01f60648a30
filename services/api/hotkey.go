package main

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Pure pieces of the hot-key scenario: Redis Cluster's key -> slot map,
// picking key copies that land on every master, and spotting hot keys.

// keySlot is the Redis Cluster hash slot of a key: CRC16/XMODEM of the key,
// or of its hash tag (the first non-empty "{...}"), mod 16384.
func keySlot(key string) int {
	if s := strings.IndexByte(key, '{'); s >= 0 {
		if e := strings.IndexByte(key[s+1:], '}'); e > 0 {
			key = key[s+1 : s+1+e]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// slotOwner answers which node serves a slot.
type slotOwner func(slot int) (node string, ok bool)

// spreadCopies picks copies key:1, key:2, ... of a key so that every node
// gets exactly perNode of them: the seed's key replication, with suffixes
// chosen by their hash slots instead of hoping N random ones spread.
func spreadCopies(key string, nodes []string, perNode int, owner slotOwner) ([]string, error) {
	if len(nodes) == 0 || perNode < 1 {
		return nil, fmt.Errorf("spreading %s: %d nodes, %d copies each", key, len(nodes), perNode)
	}
	need := map[string]int{}
	for _, n := range nodes {
		need[n] = perNode
	}
	left := len(nodes) * perNode
	var out []string
	// ~perNode*len(nodes) suffixes suffice on average; 1000x that means
	// a node owns almost no slots, which is an error worth reporting.
	for i := 1; left > 0 && i <= 1000*len(nodes)*perNode; i++ {
		k := key + ":" + strconv.Itoa(i)
		n, ok := owner(keySlot(k))
		if !ok || need[n] == 0 {
			continue
		}
		need[n]--
		left--
		out = append(out, k)
	}
	if left > 0 {
		return nil, fmt.Errorf("spreading %s: no copies found for some nodes (%v still needed)", key, need)
	}
	return out, nil
}

// hotKeys spots keys read at least threshold times in the current or the
// previous whole second. It tracks at most maxTracked distinct keys per
// second, so a scan of cold keys cannot grow it without bound.
type hotKeys struct {
	mu         sync.Mutex
	threshold  int
	maxTracked int
	sec        int64 // unix second of cur
	cur, prev  map[int64]int
}

func newHotKeys(threshold, maxTracked int) *hotKeys {
	return &hotKeys{threshold: threshold, maxTracked: maxTracked, cur: map[int64]int{}, prev: map[int64]int{}}
}

// Read counts one read of id at now and says whether id is hot.
func (h *hotKeys) Read(id int64, now time.Time) bool {
	s := now.Unix()
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case s == h.sec:
	case s == h.sec+1:
		h.prev, h.cur, h.sec = h.cur, map[int64]int{}, s
	default:
		h.prev, h.cur, h.sec = map[int64]int{}, map[int64]int{}, s
	}
	if _, ok := h.cur[id]; ok || len(h.cur) < h.maxTracked {
		h.cur[id]++
	}
	return h.cur[id] >= h.threshold || h.prev[id] >= h.threshold
}

// Hot lists the ids hot in the previous second (for /admin/stats).
func (h *hotKeys) Hot(now time.Time) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var prev map[int64]int
	switch now.Unix() {
	case h.sec:
		prev = h.prev
	case h.sec + 1:
		prev = h.cur
	}
	var out []int64
	for id, n := range prev {
		if n >= h.threshold {
			out = append(out, id)
		}
	}
	return out
}
