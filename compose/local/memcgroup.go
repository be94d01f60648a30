package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A memory limit that kills like the OOM killer: the service runs in its
// own cgroup (v1 memory controller) with memory.limit_in_bytes set, so the
// kernel itself kills it when it goes past the limit — the same thing a
// container's memory limit does under Docker.

// memCgroupRoot is where the v1 memory controller is mounted.
var memCgroupRoot = "/sys/fs/cgroup/memory"

const (
	memLimitFile = "memory.limit_in_bytes"
	memWhat      = "a memory limit"
)

type memCgroup struct{ dir string }

// newMemCgroup creates (or reuses) the service's cgroup with the limit.
func newMemCgroup(runDir, svc string, limit int64) (*memCgroup, error) {
	dir, err := makeCgroup(memCgroupRoot, memLimitFile, memWhat, runDir, svc)
	if err != nil {
		return nil, err
	}
	c := &memCgroup{dir: dir}
	if err := c.write(memLimitFile, limit); err != nil {
		return nil, err
	}
	// No swap to hide in: past the limit the process is killed, not slowed.
	if _, err := os.Stat(filepath.Join(c.dir, "memory.memsw.limit_in_bytes")); err == nil {
		if err := c.write("memory.memsw.limit_in_bytes", limit); err != nil {
			return nil, err
		}
	}
	_ = c.write("memory.swappiness", 0) // absent on some kernels; the memsw limit already holds
	return c, nil
}

func (c *memCgroup) write(file string, v int64) error {
	if err := os.WriteFile(filepath.Join(c.dir, file), []byte(strconv.FormatInt(v, 10)), 0o644); err != nil {
		return fmt.Errorf("memory cgroup %s: %w", file, err)
	}
	return nil
}

func (c *memCgroup) procsFile() string { return filepath.Join(c.dir, "cgroup.procs") }

// oomKills is how many times the kernel's OOM killer acted in the cgroup.
func (c *memCgroup) oomKills() (int, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "memory.oom_control"))
	if err != nil {
		return 0, err
	}
	return parseOOMKills(string(b))
}

// parseOOMKills reads the oom_kill line of memory.oom_control.
func parseOOMKills(s string) (int, error) {
	for _, line := range strings.Split(s, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, errors.New("memory.oom_control has no oom_kill line (kernel older than 4.13?)")
}
