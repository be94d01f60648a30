package local

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// The watchdog guarantees "no leftovers" when the runner dies without
// calling Stop (SIGKILL, panic, Ctrl-C without a handler).
//
// Pdeathsig covers our direct children only: Patroni's postmaster is
// re-parented to PID 1 and its backends call setsid(), so nothing ties them
// to the runner. So Start first launches a watchdog: this same executable
// (/proc/self/exe, which works for test binaries and for the CLI alike, even
// if the file was replaced on disk) re-executed with watchdogEnv set, in its
// own session and without Pdeathsig, with stdin = the read end of a pipe
// whose write end only the runner holds (O_CLOEXEC keeps it out of every
// other child). The kernel closes that write end however the runner ends;
// the watchdog then sees EOF, kills every process of the stack (pid files,
// postmaster.pid files, postgres processes working inside RunDir, and all
// their descendants) and removes RunDir. On a normal Stop the runner cleans
// up itself and then closes the pipe, so the watchdog finds nothing to do.
//
// The hook below runs before any test or main function of a binary that
// links this package, which is what makes the re-exec work from `go test`.

const watchdogEnv = "WHATIF_LOCAL_WATCHDOG"

// watchdogPidFile lives outside pids/ so that Stop's sweep of the stack
// leaves the watchdog running until the sweep is done.
const watchdogPidFile = "watchdog.pid"

func init() {
	if dir := os.Getenv(watchdogEnv); dir != "" {
		os.Exit(watchdogMain(dir))
	}
}

func watchdogMain(runDir string) int {
	// Blocks until the runner closed its end: Stop, or the runner's death.
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := reapDir(runDir); err != nil {
		fmt.Fprintln(os.Stderr, "whatif watchdog:", err)
		return 1
	}
	return 0
}

// watchdog is the runner's handle on its watchdog process.
type watchdog struct {
	pipe *os.File // write end; closing it releases the watchdog
	proc *proc
}

func startWatchdog(runDir string, log *os.File) (*watchdog, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(childEnv(), watchdogEnv+"="+runDir)
	cmd.Dir = "/"
	cmd.Stdin = r
	cmd.Stdout = log
	cmd.Stderr = log
	// Own session (no terminal signals), and deliberately no Pdeathsig.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start watchdog: %w", err)
	}
	p := track(cmd)
	if err := writePidFile(filepath.Join(runDir, watchdogPidFile), p.ref); err != nil {
		w.Close()
		<-p.done
		return nil, err
	}
	return &watchdog{pipe: w, proc: p}, nil
}

// release closes the pipe and waits for the watchdog to finish its (by then
// empty) sweep.
func (wd *watchdog) release() error {
	if err := wd.pipe.Close(); err != nil {
		return err
	}
	<-wd.proc.done
	return nil
}
