package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// procInfo is what /proc/<pid>/stat tells us about one process.
type procInfo struct {
	PID   int
	PPID  int
	State byte   // R, S, D, T, t, Z, X, ...
	Start uint64 // start time in clock ticks since boot: with PID, a stable identity
}

// gone reports whether the process no longer runs code: exited and only
// waiting to be reaped by its parent (which may be PID 1 for re-parented
// postmasters) or dead.
func (p procInfo) gone() bool { return p.State == 'Z' || p.State == 'X' }

// procTable is one snapshot of every process on the machine.
type procTable map[int]procInfo

// procFS is /proc, read by procfs.
var procFS = sync.OnceValues(procfs.NewDefaultFS)

// statProc reads /proc/<pid>/stat of fs; ok is false when the process does
// not exist (or the file does not parse).
func statProc(fs procfs.FS, pid int) (procInfo, bool) {
	p, err := fs.Proc(pid)
	if err != nil {
		return procInfo{}, false
	}
	return info(p)
}

func info(p procfs.Proc) (procInfo, bool) {
	s, err := p.Stat()
	if err != nil {
		return procInfo{}, false
	}
	return procInfo{PID: s.PID, PPID: s.PPID, State: s.State[0], Start: s.Starttime}, true
}

// readProc returns the stat of one process; ok is false when it does not exist.
func readProc(pid int) (procInfo, bool) {
	fs, err := procFS()
	if err != nil {
		return procInfo{}, false
	}
	return statProc(fs, pid)
}

// scanProcs snapshots /proc. Processes that exit while we read are skipped.
func scanProcs() (procTable, error) {
	fs, err := procFS()
	if err != nil {
		return nil, err
	}
	ps, err := fs.AllProcs()
	if err != nil {
		return nil, err
	}
	t := make(procTable, len(ps))
	for _, p := range ps {
		if i, ok := info(p); ok {
			t[i.PID] = i
		}
	}
	return t, nil
}

// descendants returns roots and every process below them (by ppid) that is
// in the table, sorted. Roots missing from the table are left out.
func (t procTable) descendants(roots []int) []int {
	children := make(map[int][]int, len(t))
	for _, p := range t {
		children[p.PPID] = append(children[p.PPID], p.PID)
	}
	seen := map[int]bool{}
	var queue []int
	for _, r := range roots {
		if _, ok := t[r]; ok && !seen[r] {
			seen[r] = true
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	out := make([]int, 0, len(seen))
	for p := range seen {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// cwdUnder lists processes whose working directory is dir or below it.
// Every process we start runs in its service directory, and postgres
// processes (postmaster, backends, pg_rewind) run in their data directory,
// so this finds members of a service even after setsid() and re-parenting
// broke the ppid chain.
func (t procTable) cwdUnder(dir string) []int {
	dir = filepath.Clean(dir)
	var out []int
	for pid := range t {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil {
			continue
		}
		cwd = strings.TrimSuffix(cwd, " (deleted)")
		if cwd == dir || strings.HasPrefix(cwd, dir+"/") {
			out = append(out, pid)
		}
	}
	sort.Ints(out)
	return out
}

// procRef identifies a process across PID reuse.
type procRef struct {
	PID   int
	Start uint64
}

// alive reports whether the very process r names still runs.
func (r procRef) alive() bool {
	p, ok := readProc(r.PID)
	return ok && p.Start == r.Start && !p.gone()
}

// selector picks the processes of one service (or of a whole stack) from a
// snapshot. It is re-run after every round of signals so that processes
// forked meanwhile are found too.
type selector func(procTable) []int

// members applies sel and drops ourselves, zombies and PID 1.
func members(t procTable, sel selector) []int {
	self := os.Getpid()
	var out []int
	for _, pid := range sel(t) {
		p, ok := t[pid]
		if !ok || pid == self || pid <= 1 || p.gone() {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// errStillRunning is returned when processes survive the signals we sent
// within the deadline.
var errStillRunning = errors.New("processes still running")

// freeze sends SIGSTOP to every selected process, re-scanning until every
// member is stopped and no new member appeared: a process that was forking
// while we signalled its parent is caught in a later round. It returns the
// frozen set.
func freeze(sel selector, deadline time.Time) ([]procRef, error) {
	signalled := map[int]uint64{}
	for {
		t, err := scanProcs()
		if err != nil {
			return nil, err
		}
		all := members(t, sel)
		settled := true
		refs := make([]procRef, 0, len(all))
		for _, pid := range all {
			p := t[pid]
			refs = append(refs, procRef{PID: pid, Start: p.Start})
			if start, ok := signalled[pid]; !ok || start != p.Start {
				_ = syscall.Kill(pid, syscall.SIGSTOP)
				signalled[pid] = p.Start
				settled = false
			} else if p.State != 'T' && p.State != 't' {
				settled = false // signalled, not yet stopped
			}
		}
		if settled {
			return refs, nil
		}
		if time.Now().After(deadline) {
			return refs, fmt.Errorf("freeze: %w: %v", errStillRunning, all)
		}
		time.Sleep(2 * time.Millisecond) // give the scheduler a moment to deliver SIGSTOP
	}
}

// killTree freezes the selected processes (so none can fork), SIGKILLs them
// all, and waits until every one of them has stopped running. It waits on
// the processes themselves, not on a fresh selection: a dying parent's
// children are re-parented and would drop out of a ppid-based selection
// while still exiting.
func killTree(sel selector, deadline time.Time) error {
	frozen, ferr := freeze(sel, deadline)
	targets := map[procRef]bool{}
	for _, r := range frozen {
		_ = syscall.Kill(r.PID, syscall.SIGKILL)
		targets[r] = true
	}
	for {
		t, err := scanProcs()
		if err != nil {
			return err
		}
		for _, pid := range members(t, sel) { // anything that slipped through
			r := procRef{PID: pid, Start: t[pid].Start}
			if !targets[r] {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				targets[r] = true
			}
		}
		var left []int
		for r := range targets {
			if p, ok := t[r.PID]; ok && p.Start == r.Start && !p.gone() {
				left = append(left, r.PID)
			}
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			if ferr != nil {
				return ferr
			}
			return fmt.Errorf("kill: %w: %v", errStillRunning, left)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// signalAll sends sig to every selected process once.
func signalAll(sel selector, sig syscall.Signal) ([]int, error) {
	t, err := scanProcs()
	if err != nil {
		return nil, err
	}
	all := members(t, sel)
	for _, pid := range all {
		_ = syscall.Kill(pid, sig)
	}
	return all, nil
}
