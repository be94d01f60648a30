package local

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// The stacks' data live in RAM when the machine has room for them: on the
// 2-core CI machines the virtual disk's fsync has a tail of 100+ ms (p99.9
// on an idle box, docs/scenarios.md), and a commit waiting for it decided
// quick p99 checks that are about the scenario's fault, not the disk. No
// scenario cuts power: a process killed (SIGKILL) or frozen (SIGSTOP)
// loses nothing on tmpfs that it would keep on a disk.
const (
	// StateRootEnv overrides the choice below (any directory).
	StateRootEnv = "WHATIF_STATE_ROOT"
	ramRoot      = "/dev/shm"
	// ramNeeded is room for two stacks: one holds ~1.1 GB after the
	// seeded fill (two Postgres data dirs, etcd, logs) and up to 2 GB of
	// WAL the primary keeps for its replica (wal_keep_size).
	ramNeeded  = 8 << 30
	tmpfsMagic = 0x01021994
)

// DefaultStateRoot is where stacks keep their RunDir unless told otherwise:
// $WHATIF_STATE_ROOT if set; else, for root, /dev/shm/whatif when it exists
// or /dev/shm is a tmpfs with room, else $TMPDIR/whatif; for any other
// user the same choice between /dev/shm/whatif-<uid> and
// $TMPDIR/whatif-<uid>. A root per user: a normal user can neither create
// its stacks inside root's directory nor reap root's processes, and two
// users' stacks must never be mistaken for each other.
func DefaultStateRoot() string {
	return stateRootIn{
		uid:      os.Geteuid(),
		override: os.Getenv(StateRootEnv),
		ram:      ramRoot,
		tmp:      os.TempDir(),
		hasRoom:  func(dir string) bool { return ramHasRoom(dir, ramNeeded) },
	}.choose()
}

// stateRootIn is everything DefaultStateRoot decides on, so that tests can
// vary the user and the directories.
type stateRootIn struct {
	uid      int
	override string // $WHATIF_STATE_ROOT
	ram, tmp string // /dev/shm and $TMPDIR
	hasRoom  func(dir string) bool
}

func (in stateRootIn) choose() string {
	if in.override != "" {
		return in.override
	}
	name := "whatif"
	if in.uid != 0 {
		name = fmt.Sprintf("whatif-%d", in.uid)
	}
	// Once chosen, RAM stays the root while anything lives there: a running
	// stack takes room, and `whatif down` or the reaper must look where it
	// was started, not where the free space now points.
	ram := filepath.Join(in.ram, name)
	switch in.claim(ram) {
	case rootMine:
		return ram
	case rootFree:
		if in.hasRoom(in.ram) {
			return ram
		}
	}
	return filepath.Join(in.tmp, name)
}

const (
	rootFree  = iota // nothing there yet
	rootMine         // the user's own directory
	rootTaken        // something the user does not own
)

// claim tells whether dir can be the user's state root. /dev/shm is
// writable by everyone: a name taken by another user (or a symlink planted
// there) is not ours, and the user falls back to $TMPDIR. Root uses
// whatever is there, as it always has.
func (in stateRootIn) claim(dir string) int {
	if in.uid == 0 {
		if _, err := os.Stat(dir); err != nil {
			return rootFree
		}
		return rootMine
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return rootFree
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && fi.IsDir() && int(st.Uid) == in.uid {
		return rootMine
	}
	return rootTaken
}

func ramHasRoom(dir string, need uint64) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || st.Type != tmpfsMagic {
		return false
	}
	return st.Bavail*uint64(st.Bsize) >= need
}

// DefaultRunDir is the RunDir of the stack at base when Config.RunDir is empty.
func DefaultRunDir(base int) string { return filepath.Join(DefaultStateRoot(), fmt.Sprint(base)) }
