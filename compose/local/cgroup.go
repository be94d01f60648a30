package local

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
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

// makeCgroup creates (or reuses) the service's cgroup under a v1
// controller's root, which must have the controller's file; what names the
// feature that needs it, for the error.
func makeCgroup(root, file, what, runDir, svc string) (string, error) {
	if _, err := os.Stat(filepath.Join(root, file)); err != nil {
		return "", fmt.Errorf("%s needs the cgroup v1 %s controller at %s (cgroup v2 is not supported yet): %w", what, filepath.Base(root), root, err)
	}
	dir := filepath.Join(root, cgroupPrefix(runDir)+svc)
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("create %s cgroup: %w", filepath.Base(root), err)
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
