package local

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// launchSpec is everything needed to (re)start one process of a service.
type launchSpec struct {
	Svc  string
	Path string
	Args []string
	Dir  string   // working directory: the service directory inside RunDir
	Env  []string // added to the runner's environment
	AsPG bool     // a Postgres, Patroni or PgBouncer process: see runAsPG
}

// proc is one running child and the goroutine that waits for it.
type proc struct {
	ref   procRef
	began time.Time
	done  chan struct{} // closed once the child has exited and been reaped
	err   error         // Wait's result, valid after done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// pgUser is the uid/gid of the postgres OS user.
type pgUser struct{ UID, GID uint32 }

// runAsPG is who Postgres, Patroni and PgBouncer run as. They refuse root,
// so a root runner switches them to the postgres OS user (and chowns their
// files to it); any other runner keeps them as itself: nil, no switch and
// no chown, and the postgres OS user need not exist.
func runAsPG() (*pgUser, error) { return pgUserFor(os.Geteuid(), postgresUser) }

func pgUserFor(euid int, lookup func() (pgUser, error)) (*pgUser, error) {
	if euid != 0 {
		return nil, nil
	}
	u, err := lookup()
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// pgUID is the uid the stack's postgres processes run as (see runAsPG).
func pgUID() (uint32, error) {
	pg, err := runAsPG()
	if err != nil || pg == nil {
		return uint32(os.Geteuid()), err
	}
	return pg.UID, nil
}

func lookupPostgres() (pgUser, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return pgUser{}, fmt.Errorf("postgres OS user: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return pgUser{}, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return pgUser{}, err
	}
	return pgUser{UID: uint32(uid), GID: uint32(gid)}, nil
}

// launch starts one child: its own process group, SIGKILL when the runner
// thread dies (Go sets PR_SET_PDEATHSIG after switching credentials, so it
// survives the switch to postgres), output appended to out, pid recorded in
// pidDir so a watchdog or Reap can find it after a crash. pg is runAsPG's
// answer: nil runs AsPG specs as the runner, which must not be root.
func launch(spec launchSpec, out *os.File, pidDir string, pg *pgUser) (*proc, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append(childEnv(), spec.Env...)
	cmd.Stdin = nil
	cmd.Stdout = out
	cmd.Stderr = out
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if spec.AsPG {
		env, cred, err := pgIdentity(spec, pg, os.Geteuid())
		if err != nil {
			return nil, err
		}
		attr.Credential = cred
		cmd.Env = append(cmd.Env, env...)
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Svc, err)
	}
	p := track(cmd)
	if err := writePidFile(filepath.Join(pidDir, spec.Svc+".pid"), p.ref); err != nil {
		_ = cmd.Process.Kill()
		<-p.done
		return nil, err
	}
	return p, nil
}

// pgIdentity is the credential switch (nil: none) and the HOME/USER of a
// postgres-run spec. HOME is the service directory either way: psql and
// Patroni write dotfiles there, never into a real home.
func pgIdentity(spec launchSpec, pg *pgUser, euid int) ([]string, *syscall.Credential, error) {
	if pg != nil {
		return []string{"HOME=" + spec.Dir, "USER=postgres", "LOGNAME=postgres"},
			&syscall.Credential{Uid: pg.UID, Gid: pg.GID}, nil
	}
	if euid == 0 {
		return nil, nil, fmt.Errorf("%s must not run as root and the postgres OS user is unknown", spec.Svc)
	}
	name := strconv.Itoa(euid)
	if u, err := user.LookupId(name); err == nil {
		name = u.Username
	}
	return []string{"HOME=" + spec.Dir, "USER=" + name, "LOGNAME=" + name}, nil, nil
}

// childEnv is the runner's environment minus what must not leak into
// services: the watchdog switch and the runner's own HOME/USER.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case watchdogEnv, "HOME", "USER", "LOGNAME", "PGHOST", "PGPORT", "PGDATA", "PGUSER", "PGDATABASE", "PGPASSFILE":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C.UTF-8", "LANG=C.UTF-8")
}

// writePidFile records "pid starttime" so that a later reaper never kills an
// unrelated process that happens to reuse the pid.
func writePidFile(path string, r procRef) error {
	return os.WriteFile(path, fmt.Appendf(nil, "%d %d\n", r.PID, r.Start), 0o644)
}

// readPidFiles returns every process recorded in dir that still runs.
func readPidFiles(dir string) []procRef {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []procRef
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".pid") {
			continue
		}
		if r, ok := readPidFile(filepath.Join(dir, e.Name())); ok {
			out = append(out, r)
		}
	}
	return out
}

// track records a started command (pid and start time, so a reused pid is
// never mistaken for it) and reaps it in the background.
func track(cmd *exec.Cmd) *proc {
	p := &proc{done: make(chan struct{}), began: time.Now()}
	p.ref.PID = cmd.Process.Pid
	if info, ok := readProc(p.ref.PID); ok {
		p.ref.Start = info.Start
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p
}

// readPidFile returns the recorded process if it still runs.
func readPidFile(path string) (procRef, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return procRef{}, false
	}
	var r procRef
	if _, err := fmt.Sscan(string(b), &r.PID, &r.Start); err != nil {
		return procRef{}, false
	}
	return r, r.alive()
}

// postmasterPID reads the first line of data_dir/postmaster.pid: Patroni's
// postmaster is re-parented to PID 1, so this file is the only link to it.
// The pid is only trusted if that process works in the data directory.
func postmasterPID(dataDir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 1 {
		return 0, false
	}
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil || filepath.Clean(cwd) != filepath.Clean(dataDir) {
		return 0, false
	}
	return pid, true
}

// tailFile returns up to the last n lines of a file, for error messages.
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
