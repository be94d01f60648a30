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
	// seeded fill (two Postgres data dirs, etcd, logs).
	ramNeeded  = 4 << 30
	tmpfsMagic = 0x01021994
)

// DefaultStateRoot is where stacks keep their RunDir unless told otherwise:
// $WHATIF_STATE_ROOT if set, else /dev/shm/whatif when it exists or
// /dev/shm is a tmpfs with room, else $TMPDIR/whatif.
func DefaultStateRoot() string {
	if d := os.Getenv(StateRootEnv); d != "" {
		return d
	}
	// Once chosen, RAM stays the root while anything lives there: a running
	// stack takes room, and `whatif down` or the reaper must look where it
	// was started, not where the free space now points.
	ram := filepath.Join(ramRoot, "whatif")
	if _, err := os.Stat(ram); err == nil || ramHasRoom(ramRoot, ramNeeded) {
		return ram
	}
	return filepath.Join(os.TempDir(), "whatif")
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
