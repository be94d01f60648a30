package local

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// The stack's cgroups (v1): a memory cgroup per memory-limited service
// (memcgroup.go), a cpu cgroup per CPU-weighted one (cpucgroup.go).

// cgroupPrefix names a stack's cgroups after its RunDir, so Stop, the
// watchdog and Reap all find them from the directory alone.
func cgroupPrefix(runDir string) string {
	h := fnv.New32a()
	h.Write([]byte(runDir))
	return fmt.Sprintf("whatif-%08x-", h.Sum32())
}

// MemoryLimits tells, before a stack starts, whether this runner can give
// a service a memory limit (experiment app-oom): nil if it can, else the
// reason in one line. A stack starts either way; without the capability
// its app instances just run unlimited.
func MemoryLimits() error { return probeCgroup(memCgroupRoot, memLimitFile, memWhat) }

// CPUWeights tells, like MemoryLimits, whether this runner can give a
// service a CPU weight (Controller.SetCPUWeight, experiment slow-query).
func CPUWeights() error { return probeCgroup(cpuCgroupRoot, cpuSharesFile, cpuWhat) }

// probeCgroup creates and removes a cgroup under root: the only answer that
// covers the kernel, the mount and the runner's privileges at once.
func probeCgroup(root, file, what string) error {
	if err := haveController(root, file, what); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(root, "whatif-probe-")
	if err != nil {
		return mkdirError(root, what, err)
	}
	if err := os.Remove(dir); err != nil {
		return fmt.Errorf("%s: remove probe cgroup: %w", what, err)
	}
	return nil
}

func haveController(root, file, what string) error {
	if _, err := os.Stat(filepath.Join(root, file)); err != nil {
		return fmt.Errorf("%s needs the cgroup v1 %s controller at %s (cgroup v2 is not supported yet): %w", what, filepath.Base(root), root, err)
	}
	return nil
}

// mkdirError explains a failed cgroup mkdir. A normal user is the usual
// case: cgroup v1 delegates nothing to users (systemd's user scopes get
// controllers only on cgroup v2), so only root can set these limits.
func mkdirError(root, what string, err error) error {
	if uid := os.Geteuid(); uid != 0 && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		return fmt.Errorf("%s needs root: uid %d may not create cgroups under %s (cgroup v1 has none for normal users)", what, uid, root)
	}
	return fmt.Errorf("create %s cgroup: %w", filepath.Base(root), err)
}

// makeCgroup creates (or reuses) the service's cgroup under a v1
// controller's root, which must have the controller's file; what names the
// feature that needs it, for the error.
func makeCgroup(root, file, what, runDir, svc string) (string, error) {
	if err := haveController(root, file, what); err != nil {
		return "", err
	}
	dir := filepath.Join(root, cgroupPrefix(runDir)+svc)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", mkdirError(root, what, err)
	}
	return dir, nil
}

// joinCgroups makes spec join the cgroups (their cgroup.procs files)
// before it execs: from its first byte the process is counted and limited
// (a process moved in after fork would run, and read its memory, outside
// for a moment). /bin/sh keeps the pid.
func joinCgroups(spec launchSpec, procsFiles ...string) launchSpec {
	if len(procsFiles) == 0 {
		return spec
	}
	const script = `n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 1; shift; n=$((n-1)); done; exec "$@"`
	args := append([]string{"-c", script, "whatif-join-cgroups", strconv.Itoa(len(procsFiles))}, procsFiles...)
	spec.Args = append(append(args, spec.Path), spec.Args...)
	spec.Path = "/bin/sh"
	return spec
}

// removeCgroups removes the stack's cgroups (memory and cpu); their
// processes must be gone.
func removeCgroups(runDir string) error {
	var errs []error
	for _, root := range []string{memCgroupRoot, cpuCgroupRoot} {
		dirs, err := filepath.Glob(filepath.Join(root, cgroupPrefix(runDir)+"*"))
		if err != nil {
			return err
		}
		for _, d := range dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("remove cgroup: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}
