package main

import (
	"fmt"
	"hash/crc32"
	"net/http"
	"strconv"
	"sync"

	"github.com/maypok86/otter/v2"

	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// GET /exports/{id}?kb=N — scenario 7 (app server out of memory). An export
// is built in memory, N KiB of rows, and kept in an in-process cache so that
// asking again is cheap. Unprotected, that cache is a plain map that grows
// without bound and any size is built. cache_bound caps the cache by bytes;
// payload_cap answers 413 for an export above --export-cap before a byte of
// it is allocated (the seed's "reject requests that would require
// allocating more than N MB").

// maxExportKB is the most the endpoint accepts at all (1 GiB); above it a
// request is malformed (400), whatever the protections.
const maxExportKB = 1 << 20

// exportCache holds built exports: unbounded in a map, or bounded by bytes
// in otter; which one a request uses follows cache_bound.
type exportCache struct {
	mu        sync.Mutex
	unbounded map[string][]byte
	ubBytes   int64
	bounded   *otter.Cache[string, []byte]
}

func newExportCache(maxBytes int64) (*exportCache, error) {
	c, err := otter.New(&otter.Options[string, []byte]{
		MaximumWeight: uint64(maxBytes),
		Weigher:       func(_ string, v []byte) uint32 { return uint32(min(len(v), 1<<31)) },
	})
	if err != nil {
		return nil, err
	}
	return &exportCache{unbounded: map[string][]byte{}, bounded: c}, nil
}

func (c *exportCache) get(key string, bounded bool) ([]byte, bool) {
	if bounded {
		return c.bounded.GetIfPresent(key)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.unbounded[key]
	return v, ok
}

func (c *exportCache) put(key string, v []byte, bounded bool) {
	if bounded {
		c.bounded.Set(key, v)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.unbounded[key]; ok {
		c.ubBytes -= int64(len(old))
	}
	c.unbounded[key] = v
	c.ubBytes += int64(len(v))
}

// size is the entries and bytes held by both caches.
func (c *exportCache) size() (entries int, bytes int64) {
	c.mu.Lock()
	entries, bytes = len(c.unbounded), c.ubBytes
	c.mu.Unlock()
	return entries + c.bounded.EstimatedSize(), bytes + int64(c.bounded.WeightedSize())
}

func (c *exportCache) clear() {
	c.mu.Lock()
	c.unbounded, c.ubBytes = map[string][]byte{}, 0
	c.mu.Unlock()
	c.bounded.InvalidateAll()
}

type exportAnswer struct {
	ID     int64  `json:"id"`
	Bytes  int    `json:"bytes"`
	CRC32  uint32 `json:"crc32"`
	Cached bool   `json:"cached"`
}

func (a *app) getExport(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 0 {
		httpx.Error(w, http.StatusBadRequest, "export id must be a non-negative integer")
		return
	}
	kb, err := strconv.Atoi(r.URL.Query().Get("kb"))
	if err != nil || kb < 1 || kb > maxExportKB {
		httpx.Error(w, http.StatusBadRequest, fmt.Sprintf("kb must be an integer in [1, %d] (the export's size in KiB)", maxExportKB))
		return
	}
	a.count.exports.Add(1)
	size := kb << 10
	if a.prot.On(protPayloadCap) && int64(size) > a.exportCap {
		a.count.exportsRejected.Add(1)
		httpx.Error(w, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("an export of %d KiB is above the %d KiB this server builds", kb, a.exportCap>>10))
		return
	}
	key := fmt.Sprintf("%d:%d", id, kb)
	bounded := a.prot.On(protCacheBound)
	doc, ok := a.exports.get(key, bounded)
	if ok {
		a.count.exportHits.Add(1)
	} else {
		doc = renderExport(id, size)
		a.exports.put(key, doc, bounded)
		a.count.exportsBuilt.Add(1)
	}
	httpx.JSON(w, http.StatusOK, exportAnswer{ID: id, Bytes: len(doc), CRC32: crc32.ChecksumIEEE(doc), Cached: ok})
}

// renderExport builds size bytes of rows. Every byte is written, so the
// memory is really used (resident), as a rendered report's would be.
func renderExport(id int64, size int) []byte {
	b := make([]byte, size)
	row := []byte(fmt.Sprintf("export %d, row of a rendered report ....................................\n", id))
	n := copy(b, row)
	for n < size {
		n += copy(b[n:], b[:n])
	}
	return b
}
