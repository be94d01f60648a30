package main

// Throwaway real dependencies for the integration tests: a Postgres 15 and a
// redis-server started as child processes, plus the api binary itself.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	pgBin       = "/usr/lib/postgresql/15/bin"
	redisBin    = "/usr/bin/redis-server"
	portLo      = 16400
	portHi      = 16499
	testItems   = 3000
	startupWait = 20 * time.Second
)

// proc is a started child process we own.
type proc struct {
	name    string
	stopSig syscall.Signal // graceful stop; SIGTERM unless set
	cmd     *exec.Cmd
	out     *bytes.Buffer
	done    chan struct{}
}

var (
	procsMu sync.Mutex
	procs   []*proc
)

func startProc(name string, cred *syscall.Credential, bin string, args ...string) (*proc, error) {
	cmd := exec.Command(bin, args...)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = &lockedWriter{w: out}, &lockedWriter{w: out}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	return p, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func (p *proc) output() string {
	lw := p.cmd.Stdout.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.String()
}

// tree is the process and every descendant (Postgres backends call setsid,
// so a process-group signal would miss them).
func (p *proc) tree() []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name is in parentheses and may hold spaces.
		rest := string(b[bytes.LastIndexByte(b, ')')+2:])
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], pid)
	}
	var out []int
	var walk func(int)
	walk = func(pid int) {
		out = append(out, pid)
		for _, c := range children[pid] {
			walk(c)
		}
	}
	walk(p.cmd.Process.Pid)
	return out
}

func (p *proc) signalTree(sig syscall.Signal) {
	for _, pid := range p.tree() {
		_ = syscall.Kill(pid, sig)
	}
}

// stop ends the process tree: resumed first, in case a test paused it.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.signalTree(syscall.SIGCONT)
	sig := p.stopSig
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.signalTree(syscall.SIGKILL)
		<-p.done
	}
}

func (p *proc) kill() {
	p.signalTree(syscall.SIGCONT)
	p.signalTree(syscall.SIGKILL)
	<-p.done
}

func stopAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
	procs = nil
}

// freePort finds a bindable loopback port in our test range.
func freePort() (int, error) {
	start := portLo + int(time.Now().UnixNano()%int64(portHi-portLo+1))
	for i := 0; i <= portHi-portLo; i++ {
		port := portLo + (start-portLo+i)%(portHi-portLo+1)
		if reserved[port] {
			continue
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		ln.Close()
		reserved[port] = true
		return port, nil
	}
	return 0, fmt.Errorf("no free port in %d..%d", portLo, portHi)
}

var reserved = map[int]bool{}

// env is the shared test environment.
type env struct {
	dir       string
	pgPort    int
	pg        *proc
	pgCred    *syscall.Credential
	redisPort int
	redis     *proc
	apiBin    string
}

func (e *env) dsn() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", e.pgPort)
}

func (e *env) redisAddr() string { return fmt.Sprintf("127.0.0.1:%d", e.redisPort) }

func setupEnv() (*env, error) {
	dir, err := os.MkdirTemp("", "whatif-api-test-")
	if err != nil {
		return nil, err
	}
	e := &env{dir: dir}
	if err := os.Chmod(dir, 0o755); err != nil {
		return e, err
	}
	if os.Geteuid() == 0 {
		// Postgres refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return e, fmt.Errorf("running as root needs the postgres OS user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		e.pgCred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	pgdata := filepath.Join(dir, "pgdata")
	if err := os.Mkdir(pgdata, 0o700); err != nil {
		return e, err
	}
	if e.pgCred != nil {
		if err := os.Chown(pgdata, int(e.pgCred.Uid), int(e.pgCred.Gid)); err != nil {
			return e, err
		}
	}
	initdb := exec.Command(filepath.Join(pgBin, "initdb"), "-D", pgdata, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Credential: e.pgCred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return e, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if e.pgPort, err = freePort(); err != nil {
		return e, err
	}
	if err := e.startPG(); err != nil {
		return e, err
	}
	if e.redisPort, err = freePort(); err != nil {
		return e, err
	}
	if err := e.startRedis(); err != nil {
		return e, err
	}
	e.apiBin = filepath.Join(dir, "api")
	args := []string{"build", "-o", e.apiBin}
	if raceBuild {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		return e, fmt.Errorf("build api: %w\n%s", err, out)
	}
	return e, nil
}

func (e *env) startPG() error {
	var err error
	e.pg, err = startProc("postgres", e.pgCred, filepath.Join(pgBin, "postgres"),
		"-D", filepath.Join(e.dir, "pgdata"), "-p", strconv.Itoa(e.pgPort),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+filepath.Join(e.dir, "pgdata"),
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=100", "-c", "shared_buffers=32MB")
	if err != nil {
		return err
	}
	e.pg.stopSig = syscall.SIGINT // "fast" shutdown; SIGTERM waits for clients to leave
	return waitFor(startupWait, func() error {
		select {
		case <-e.pg.done:
			return permanent{fmt.Errorf("postgres exited:\n%s", e.pg.output())}
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, e.dsn())
		if err != nil {
			return err
		}
		return c.Close(ctx)
	})
}

func (e *env) startRedis() error {
	var err error
	e.redis, err = startProc("redis", nil, redisBin, "--port", strconv.Itoa(e.redisPort),
		"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", e.dir)
	if err != nil {
		return err
	}
	return waitFor(startupWait, func() error {
		c, err := net.DialTimeout("tcp", e.redisAddr(), 200*time.Millisecond)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("PING\r\n")); err != nil {
			return err
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+PONG") {
			return fmt.Errorf("redis ping: %q %v", line, err)
		}
		return nil
	})
}

// permanent stops waitFor at once: retrying cannot help.
type permanent struct{ error }

func waitFor(d time.Duration, f func() error) error {
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if p, ok := err.(permanent); ok {
			return p.error
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// api is one running api binary.
type api struct {
	*proc
	base string
}

// startAPI runs the api with the test dependencies and extra flags, and
// waits for /health.
func (e *env) startAPI(t *testing.T, extra ...string) *api {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i+1 < len(extra); i++ {
		if extra[i] == "--listen" {
			listen = extra[i+1]
		}
	}
	args := append([]string{"--listen", listen, "--redis", e.redisAddr(), "--pg-primary", e.dsn(),
		"--items", strconv.Itoa(testItems), "--startup-timeout", "10s"}, extra...)
	p, err := startProc("api", nil, e.apiBin, args...)
	if err != nil {
		t.Fatal(err)
	}
	a := &api{proc: p, base: "http://" + listen}
	t.Cleanup(func() {
		p.stop()
		if strings.Contains(p.output(), "DATA RACE") {
			t.Error("the api reported a data race")
		}
		if t.Failed() {
			t.Logf("api output:\n%s", p.output())
		}
	})
	err = waitFor(startupWait, func() error {
		select {
		case <-p.done:
			return permanent{fmt.Errorf("api exited:\n%s", p.output())}
		default:
		}
		resp, err := http.Get(a.base + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("health %d", resp.StatusCode)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
