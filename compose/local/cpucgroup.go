package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/whatif-lab/whatif/compose"
)

// A CPU weight: the service's processes share one cgroup (v1 cpu
// controller) whose cpu.shares weighs them against everything else, as
// docker --cpu-shares does for a container. At a low weight a service only
// gets CPU the rest leaves idle: on one 2-core box that is the nearest
// thing to "it runs on another machine".

// cpuCgroupRoot is where the v1 cpu controller is mounted.
var cpuCgroupRoot = "/sys/fs/cgroup/cpu"

const (
	cpuSharesFile = "cpu.shares"
	cpuIdleFile   = "cpu.idle"
	cpuWhat       = "a CPU weight"
)

type cpuCgroup struct{ dir string }

// newCPUCgroup creates (or reuses) the service's cpu cgroup with weight.
func newCPUCgroup(runDir, svc string, weight int) (*cpuCgroup, error) {
	dir, err := makeCgroup(cpuCgroupRoot, cpuSharesFile, cpuWhat, runDir, svc)
	if err != nil {
		return nil, err
	}
	c := &cpuCgroup{dir: dir}
	// an idle cgroup refuses a weight: leave the idle class first
	if err := c.setIdle(false); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(c.dir, cpuSharesFile), []byte(strconv.Itoa(weight)), 0o644); err != nil {
		return nil, fmt.Errorf("cpu cgroup cpu.shares: %w", err)
	}
	if weight == compose.MinCPUWeight {
		if err := c.setIdle(true); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// setIdle moves the cgroup into or out of the kernel's idle class, where
// the kernel has one (cpu.idle, Linux 5.15 on); without it the weight is
// all there is.
func (c *cpuCgroup) setIdle(idle bool) error {
	v := "0"
	if idle {
		v = "1"
	}
	err := os.WriteFile(filepath.Join(c.dir, cpuIdleFile), []byte(v), 0o644)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cpu cgroup cpu.idle: %w", err)
	}
	return nil
}

func (c *cpuCgroup) procsFile() string { return filepath.Join(c.dir, "cgroup.procs") }

// adopt moves every process sel picks into the cgroup, re-scanning until a
// scan finds nothing new: a process forked while its parent was being
// moved stays behind and is caught in the next round. Children forked
// after that inherit the cgroup.
func (c *cpuCgroup) adopt(sel selector, deadline time.Time) error {
	moved := map[procRef]bool{}
	for {
		t, err := scanProcs()
		if err != nil {
			return err
		}
		fresh := 0
		for _, pid := range members(t, sel) {
			r := procRef{PID: pid, Start: t[pid].Start}
			if moved[r] {
				continue
			}
			fresh++
			err := os.WriteFile(c.procsFile(), []byte(strconv.Itoa(pid)), 0o644)
			if err != nil && !errors.Is(err, syscall.ESRCH) { // ESRCH: it exited meanwhile
				return fmt.Errorf("move pid %d into %s: %w", pid, c.dir, err)
			}
			moved[r] = true
		}
		if fresh == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes still forking after %d moves", len(moved))
		}
	}
}

// SetCPUWeight puts every process of svc, now and after a restart, into
// its cpu cgroup at weight.
func (c controller) SetCPUWeight(ctx context.Context, svc string, weight int) error {
	if err := compose.CheckCPUWeight(weight); err != nil {
		return fmt.Errorf("local: %s: %w", svc, err)
	}
	sv, err := c.service(svc)
	if err != nil {
		return err
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	cg, err := newCPUCgroup(c.s.cfg.RunDir, svc, weight)
	if err != nil {
		return fmt.Errorf("local: %s: %w", svc, err)
	}
	sv.cpu = cg // later launches join it before exec
	if err := cg.adopt(sv.selectorLocked(), opDeadline(ctx)); err != nil {
		return fmt.Errorf("local: cpu weight of %s: %w", svc, err)
	}
	return nil
}
