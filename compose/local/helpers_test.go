package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/compose"
)

// Test bases reserved for this package: 17000, 17200, 17400.
const (
	baseStack    = 17000
	baseWatchdog = 17200
	baseSpare    = 17400
)

// requireDebian skips integration tests on machines without the Debian
// packages. A normal user runs them too: Postgres then runs as that user.
func requireDebian(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped with -short")
	}
	for _, b := range []string{"etcd", "patroni", "haproxy", "pgbouncer", "redis-server"} {
		if _, err := lookBin(b); err != nil {
			t.Skipf("integration test: %v (apt-get install postgresql-15 patroni etcd-server haproxy pgbouncer redis-server)", err)
		}
	}
	if _, err := os.Stat(filepath.Join(pgBinDir, "postgres")); err != nil {
		t.Skipf("integration test: %v", err)
	}
	if _, err := lookupPostgres(); err != nil {
		t.Skipf("integration test: %v", err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// ourBinaries builds whatif-api, whatif-broker and whatif-worker from the repository when
// their packages exist. It returns BinDir and the services whose binary is
// not available, so tests can leave them out via Only.
func ourBinaries(t testing.TB) (string, []string) {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "whatif-bin-")
		if binErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		repo := filepath.Join(filepath.Dir(file), "..", "..")
		for svc, bin := range map[string]string{"api": apiBinary, "broker": brokerBinary, "worker": workerBinary} {
			pkg := filepath.Join(repo, "services", svc)
			if _, err := os.Stat(filepath.Join(pkg, "main.go")); err != nil {
				continue
			}
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, bin), "./services/"+svc)
			cmd.Dir = repo
			if out, err := cmd.CombinedOutput(); err != nil {
				// Someone else's work in progress: run without it.
				fmt.Fprintf(os.Stderr, "note: building %s failed, leaving it out: %v\n%s", svc, err, out)
				_ = os.Remove(filepath.Join(binDir, bin))
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	var missing []string
	for svc, bin := range map[string]string{compose.SvcAPI: apiBinary, compose.SvcBroker: brokerBinary, compose.SvcWorker: workerBinary} {
		if _, err := os.Stat(filepath.Join(binDir, bin)); err != nil {
			missing = append(missing, svc)
			if svc == compose.SvcAPI {
				missing = append(missing, compose.AppInstances...) // the same binary
			}
		}
	}
	return binDir, missing
}

// availableServices is every service minus those whose binary is missing.
func availableServices(t testing.TB) (string, []string) {
	dir, missing := ourBinaries(t)
	var only []string
	for _, n := range compose.Default(0).ServiceNames() {
		if n == compose.SvcToxiproxy || contains(missing, n) {
			continue
		}
		only = append(only, n)
	}
	if len(missing) > 0 {
		t.Logf("not built (no package or build failed), left out: %v", missing)
	}
	return dir, only
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// leftovers lists processes that still belong to the stack: working in,
// or naming, runDir, or carrying the Patroni scope in their title (every
// postgres backend does, via cluster_name). Zombies do not count: they run
// nothing and only wait for their (possibly PID 1) parent to reap them.
func leftovers(runDir string, base int) []string {
	t, err := scanProcs()
	if err != nil {
		return []string{err.Error()}
	}
	scope := fmt.Sprintf("whatif-%d", base)
	var out []string
	for pid, p := range t {
		if pid == os.Getpid() || p.gone() {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		line := strings.ReplaceAll(string(cmd), "\x00", " ")
		cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if strings.Contains(line, runDir) || strings.Contains(line, scope) ||
			cwd == runDir || strings.HasPrefix(cwd, runDir+"/") {
			out = append(out, fmt.Sprintf("%d %s", pid, line))
		}
	}
	return out
}

// busyPorts lists ports of the topology on which something still listens.
func busyPorts(topo compose.Topology) []int {
	var ports []int
	for _, s := range topo.Services {
		for _, p := range s.Ports {
			ports = append(ports, p)
		}
	}
	for _, l := range topo.Links {
		ports = append(ports, l.Listen)
	}
	var busy []int
	for _, p := range ports {
		ln, err := net.Listen("tcp", compose.Addr(p))
		if err != nil {
			busy = append(busy, p)
			continue
		}
		ln.Close()
	}
	return busy
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(within)
	var err error
	for {
		if err = cond(); err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// assertNoLeftovers checks the promise of Stop and of the watchdog.
func assertNoLeftovers(t testing.TB, runDir string, topo compose.Topology, within time.Duration) {
	t.Helper()
	eventually(t, within, "stack fully gone", func() error {
		if procs := leftovers(runDir, topo.Base); len(procs) > 0 {
			return fmt.Errorf("processes left: %v", procs)
		}
		if _, err := os.Stat(runDir); err == nil {
			return fmt.Errorf("RunDir %s still exists", runDir)
		}
		if busy := busyPorts(topo); len(busy) > 0 {
			return fmt.Errorf("ports still listening: %v", busy)
		}
		for _, root := range []string{memCgroupRoot, cpuCgroupRoot} {
			if cgs, _ := filepath.Glob(filepath.Join(root, cgroupPrefix(runDir)+"*")); len(cgs) > 0 {
				return fmt.Errorf("cgroups left: %v", cgs)
			}
		}
		return nil
	})
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// cpuCgroupOf is the v1 cpu cgroup a process is in, from /proc/PID/cgroup;
// ok is false when the process has exited meanwhile (a short-lived backend).
func cpuCgroupOf(t testing.TB, pid int) (cg string, ok bool) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		// "4:cpu:/whatif-…-pg1" (cpu may share a line with cpuacct)
		parts := strings.SplitN(line, ":", 3)
		if len(parts) == 3 && slices.Contains(strings.Split(parts[1], ","), "cpu") {
			return parts[2], true
		}
	}
	t.Fatalf("pid %d: no cpu cgroup line in %q", pid, b)
	return "", false
}
