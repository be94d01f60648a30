package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// memStats is what the process costs against its memory limit, read from
// its own cgroup (v1 memory controller or v2), as the OOM killer sees it.
type memStats struct {
	Usage int64 `json:"usage_bytes"` // charged to the cgroup; 0 when there is none
	Limit int64 `json:"limit_bytes"` // 0 = no limit in force
	RSS   int64 `json:"rss_bytes"`   // this process's resident memory
	Peak  int64 `json:"peak_bytes"`  // highest usage (RSS without a cgroup) seen since start or /admin/reset, polled every 100 ms
}

// memPeak keeps the highest memory use seen: a 1 s sampler would miss the
// climb to a limit that takes less than a second at 10x load.
type memPeak struct{ v atomic.Int64 }

// charged is what counts against the limit: the cgroup's usage, else RSS.
func (m memStats) charged() int64 {
	if m.Usage > 0 {
		return m.Usage
	}
	return m.RSS
}

func (p *memPeak) observe(v int64) {
	for {
		old := p.v.Load()
		if v <= old || p.v.CompareAndSwap(old, v) {
			return
		}
	}
}

// reset restarts the peak from the current use.
func (p *memPeak) reset() { p.v.Store(readMem().charged()) }

// watch polls memory use until ctx ends.
func (p *memPeak) watch(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		p.observe(readMem().charged())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// noLimit: cgroup v1 writes "unlimited" as a page-rounded MaxInt64.
const noLimit = 1 << 60

func readMem() memStats {
	var m memStats
	m.RSS = readRSS("/proc/self/statm")
	usageFile, limitFile := memFiles()
	if usageFile == "" {
		return m
	}
	m.Usage = readInt(usageFile)
	if l := readInt(limitFile); l > 0 && l < noLimit {
		m.Limit = l
	}
	return m
}

// memFiles finds the memory cgroup's usage and limit files once ("" when
// there is none): a process never changes cgroup — the local supervisor
// puts an app instance into its own before exec, a container is born in
// its own — and the peak watcher reads them ten times a second.
var memFiles = sync.OnceValues(func() (usage, limit string) {
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", ""
	}
	for _, c := range cgroupMemFiles("/sys/fs/cgroup", cg) {
		if _, err := os.Stat(c[0]); err == nil {
			return c[0], c[1]
		}
	}
	return "", ""
})

// cgroupMemFiles lists where the usage and limit files of the process's
// memory cgroup may be, from /proc/self/cgroup: for the v1 "memory" line if
// there is one, else the v2 "0::" line, first under the cgroup's path, then
// at the mount root — in a container the path names the cgroup as the host
// sees it (/docker/<id>) but only that cgroup is mounted, at the root.
func cgroupMemFiles(root string, procCgroup []byte) [][2]string {
	var v2 string
	sc := bufio.NewScanner(bytes.NewReader(procCgroup))
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2 = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return candidates(filepath.Join(root, "memory"), parts[2], "memory.usage_in_bytes", "memory.limit_in_bytes")
			}
		}
	}
	if v2 == "" {
		return nil
	}
	return candidates(root, v2, "memory.current", "memory.max")
}

func candidates(mount, path, usage, limit string) [][2]string {
	out := [][2]string{{filepath.Join(mount, path, usage), filepath.Join(mount, path, limit)}}
	if path != "/" {
		out = append(out, [2]string{filepath.Join(mount, usage), filepath.Join(mount, limit)})
	}
	return out
}

// readInt reads one integer from a file; "max" or anything unreadable is 0.
func readInt(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0
	}
	return v
}

// readRSS reads resident pages from /proc/<pid>/statm (second field).
func readRSS(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
