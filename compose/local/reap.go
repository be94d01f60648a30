package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ownerFile marks a directory as a stack's RunDir and names the runner
// process that owns it ("pid starttime"). Nothing is ever removed from a
// directory without it, so a mistyped RunDir cannot wipe user data.
const ownerFile = "whatif-owner"

func isStackDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, ownerFile))
	return err == nil
}

// stackOwner returns the runner that owns dir if it still runs.
func stackOwner(dir string) (procRef, bool) { return readPidFile(filepath.Join(dir, ownerFile)) }

// Reap takes down leftovers of earlier runs. stateRoot is either one stack's
// RunDir or a directory holding several (DefaultStateRoot()). For each stack
// whose runner still lives (and is not this process) the runner gets
// SIGTERM first, so it can Stop cleanly (or die, and its watchdog cleans);
// after a grace period every remaining process of the stack is killed and
// the RunDir removed.
func Reap(stateRoot string) error {
	dirs := []string{stateRoot}
	if !isStackDir(stateRoot) {
		ents, err := os.ReadDir(stateRoot)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		dirs = dirs[:0]
		for _, e := range ents {
			if d := filepath.Join(stateRoot, e.Name()); e.IsDir() && isStackDir(d) {
				dirs = append(dirs, d)
			}
		}
	}
	var errs []error
	for _, d := range dirs {
		if owner, alive := stackOwner(d); alive && owner.PID != os.Getpid() {
			_ = syscall.Kill(owner.PID, syscall.SIGTERM)
			deadline := time.Now().Add(10 * time.Second)
			for owner.alive() && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if err := reapDir(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// reapDir kills every process of the stack in dir and removes dir. It is
// what Stop, the watchdog and Reap share.
func reapDir(dir string) error {
	if !isStackDir(dir) {
		return nil
	}
	stack := stackSelector(dir)
	withWatchdog := func(t procTable) []int {
		roots := stack(t)
		if r, ok := readPidFile(filepath.Join(dir, watchdogPidFile)); ok {
			roots = append(roots, r.PID)
		}
		return roots
	}
	if err := killTree(withWatchdog, time.Now().Add(15*time.Second)); err != nil {
		return fmt.Errorf("reap %s: %w", dir, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("reap %s: %w", dir, err)
	}
	if err := removeCgroups(dir); err != nil {
		return fmt.Errorf("reap %s: %w", dir, err)
	}
	return nil
}

// stackSelector finds every process of the stack in dir.
func stackSelector(dir string) selector {
	pidDir := filepath.Join(dir, "pids")
	return func(t procTable) []int {
		var roots []int
		for _, r := range readPidFiles(pidDir) {
			roots = append(roots, r.PID)
		}
		roots = append(roots, postgresRoots(t, dir)...)
		return t.descendants(roots)
	}
}

// postgresRoots finds the postmasters named by postmaster.pid files of data
// directories at within/data or within/*/data, plus postgres processes whose
// working directory is inside within. Postgres processes leave the ppid
// tree (re-parenting, setsid) but never their data directory. A user's
// shell sitting in RunDir must never be killed, so the directory rule only
// takes processes of the uid the stack's postgres runs as (runAsPG) and,
// when that is the runner's own uid, only the Postgres binaries.
func postgresRoots(t procTable, within string) []int {
	var roots []int
	a, _ := filepath.Glob(filepath.Join(within, "data", "postmaster.pid"))
	b, _ := filepath.Glob(filepath.Join(within, "*", "data", "postmaster.pid"))
	for _, m := range append(a, b...) {
		if pid, ok := postmasterPID(filepath.Dir(m)); ok {
			roots = append(roots, pid)
		}
	}
	uid, err := pgUID()
	if err != nil {
		return roots
	}
	own := uid == uint32(os.Geteuid())
	for _, pid := range t.cwdUnder(within) {
		var st syscall.Stat_t
		if err := syscall.Stat(fmt.Sprintf("/proc/%d", pid), &st); err != nil || st.Uid != uid {
			continue
		}
		if own && !isPGBinary(pid) {
			continue
		}
		roots = append(roots, pid)
	}
	return roots
}

// isPGBinary reports whether pid runs a program of Postgres' bin dir
// (postgres, pg_ctl, pg_rewind, initdb, pg_basebackup).
func isPGBinary(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return false
	}
	return filepath.Dir(strings.TrimSuffix(exe, " (deleted)")) == pgBinDir
}

// postgresUser is looked up once per process.
var postgresUser = sync.OnceValues(lookupPostgres)
