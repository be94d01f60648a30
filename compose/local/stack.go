// Package local runs the whatif system under test as processes on loopback:
// Debian's etcd, Patroni/Postgres 15, HAProxy, PgBouncer and Redis, our own
// api and broker binaries, and Toxiproxy embedded in the calling process on
// every link. It supervises them so that nothing survives the stack — not
// after Stop, not after the runner is killed.
package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/compose"
)

// Stack is a running local stack.
type Stack struct {
	cfg   Config
	names []string // selected services, sorted
	svcs  map[string]*service
	pg    *pgUser
	logs  *logSink
	wd    *watchdog
	toxi  *toxiServer

	// ctx ends when Stop begins, cancelling Controller calls in flight.
	ctx    context.Context
	cancel context.CancelFunc
	// launchMu orders launches against Stop: no child can be forked after
	// Stop has begun its sweep.
	launchMu sync.Mutex

	offers   compose.Capabilities
	began    time.Time // when Start was called
	stopOnce sync.Once
	stopErr  error
}

// Start creates RunDir, starts the watchdog, Toxiproxy and every selected
// service in dependency order (independent ones concurrently), and returns
// once all are healthy. On failure it stops what it started and returns an
// error naming the service with the tail of its log.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	began := time.Now()
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	selected, err := cfg.Topology.Select(cfg.Only)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	// Toxiproxy is embedded in the runner, not a supervised service.
	names := slices.DeleteFunc(selected, func(n string) bool { return n == compose.SvcToxiproxy })
	var pg *pgUser
	if slices.ContainsFunc(names, func(n string) bool { return cfg.Topology.Service(n).AsPostgres }) {
		if pg, err = runAsPG(); err != nil {
			return nil, fmt.Errorf("local: %w", err)
		}
	}
	svcs, err := buildServices(cfg, names, pg)
	if err != nil {
		return nil, err
	}
	if err := checkPortsFree(cfg.Topology, names); err != nil {
		return nil, err
	}
	if err := prepareRunDir(cfg.RunDir); err != nil {
		return nil, err
	}
	s := &Stack{cfg: cfg, names: names, svcs: svcs, pg: pg, began: began, offers: Offers(),
		logs: &logSink{dir: filepath.Join(cfg.RunDir, "logs"), copy: cfg.Logs}}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	wdLog, err := s.logs.openFile("watchdog")
	if err == nil {
		s.wd, err = startWatchdog(cfg.RunDir, wdLog)
		wdLog.Close()
	}
	if err != nil {
		_ = os.RemoveAll(cfg.RunDir)
		return nil, fmt.Errorf("local: %w", err)
	}
	fail := func(err error) (*Stack, error) {
		return nil, errors.Join(err, s.Stop(context.Background()))
	}
	toxiLog, err := s.logs.writer(compose.SvcToxiproxy)
	if err != nil {
		return fail(err)
	}
	if s.toxi, err = startToxiproxy(cfg.Topology, toxiLog); err != nil {
		return fail(fmt.Errorf("local: %w", err))
	}

	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := s.bringUpAll(sctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// bringUpAll starts every service concurrently, each once what it needs is
// healthy, and waits for all to be healthy. On failure it reports the most
// upstream failed service: its dependents fail too, by timeout.
func (s *Stack) bringUpAll(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		errs = map[string]error{}
		wg   sync.WaitGroup
	)
	record := func(name string, err error) {
		mu.Lock()
		errs[name] = err
		mu.Unlock()
		cancel()
	}
	if slices.Contains(s.names, compose.SvcPG0) || slices.Contains(s.names, compose.SvcPG1) {
		wait, err := s.startTemplate()
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := wait(ctx); err != nil {
				record(templateSvc, err)
			}
		}()
	}
	for _, name := range s.names {
		sv := s.svcs[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.bringUp(ctx, sv); err != nil {
				record(name, err)
			}
		}()
	}
	wg.Wait()
	if len(errs) == 0 {
		return s.recheck(ctx)
	}
	// A real failure beats a cancellation; upstream beats downstream.
	for _, real := range []bool{true, false} {
		for _, name := range append([]string{templateSvc}, s.cfg.Topology.StartOrder(s.names)...) {
			err, ok := errs[name]
			if ok && (!real || !errors.Is(err, context.Canceled)) {
				return err
			}
		}
	}
	for _, err := range errs {
		return err
	}
	return nil
}

// recheck awaits every health check once more, so that Start returns with
// all of them passing together: HAProxy may have become healthy before the
// replica existed and must now route reads to it.
func (s *Stack) recheck(ctx context.Context) error {
	for _, name := range s.cfg.Topology.StartOrder(s.names) {
		sv := s.svcs[name]
		err := awaitHealthy(ctx, sv.proc, func(ctx context.Context) error {
			_, err := sv.health(ctx)
			return err
		})
		if err != nil {
			return s.failure(name, err)
		}
	}
	return nil
}

// bringUp launches one service once what it needs is healthy and waits
// until it is healthy itself.
func (s *Stack) bringUp(ctx context.Context, sv *service) error {
	for _, d := range s.cfg.Topology.Service(sv.name).After {
		dep, runs := s.svcs[d]
		if !runs {
			continue
		}
		select {
		case <-dep.ready:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.launch(sv); err != nil {
		return s.failure(sv.name, err)
	}
	err := awaitHealthy(ctx, sv.proc, func(ctx context.Context) error {
		_, err := sv.health(ctx)
		return err
	})
	if err != nil {
		return s.failure(sv.name, err)
	}
	sv.readyAfter = time.Since(s.began)
	close(sv.ready)
	return nil
}

// failure wraps err with the service name and the tail of its log.
func (s *Stack) failure(name string, err error) error {
	tail := tailFile(s.logs.path(name), 30)
	if tail == "" {
		return fmt.Errorf("local: %s: %w", name, err)
	}
	return fmt.Errorf("local: %s: %w\n--- last lines of %s ---\n%s", name, err, s.logs.path(name), tail)
}

// launch (re)starts the service's main process.
func (s *Stack) launch(sv *service) error {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return s.launchLocked(sv)
}

// launchLocked is launch with sv.mu held.
func (s *Stack) launchLocked(sv *service) error {
	if !sv.started {
		if err := sv.setup(); err != nil {
			return err
		}
		sv.started = true
	}
	out, closeOut, err := s.logs.output(sv.name)
	if err != nil {
		return err
	}
	defer closeOut()
	if sv.memLimit > 0 && !sv.cgTried {
		sv.cgTried = true
		if sv.cg, err = newMemCgroup(s.cfg.RunDir, sv.name, sv.memLimit); err != nil {
			// The stack still serves every other experiment; the instance
			// reports limit 0 and app-oom refuses to judge without one.
			fmt.Fprintf(out, "whatif: %s runs WITHOUT its memory limit: %v\n", sv.name, err)
		}
	}
	var join []string
	if sv.cg != nil {
		join = append(join, sv.cg.procsFile())
	}
	if sv.cpu != nil {
		join = append(join, sv.cpu.procsFile())
	}
	spec := joinCgroups(sv.spec, join...)
	p, err := s.fork(spec, out)
	if err != nil {
		return err
	}
	sv.proc = p
	if sv.restart {
		go s.restartOnExit(sv, p)
	}
	return nil
}

// Restart policy delays: Docker's, so both backends crash-loop alike.
const (
	restartFirstDelay = 100 * time.Millisecond
	restartMaxDelay   = time.Minute
	restartResetAfter = 10 * time.Second // a run this long resets the delay
)

// restartOnExit relaunches sv once p dies on its own, after a delay that
// doubles with each crash in a row.
func (s *Stack) restartOnExit(sv *service, p *proc) {
	select {
	case <-p.done:
	case <-s.ctx.Done():
		return
	}
	sv.mu.Lock()
	if sv.proc != p || sv.held {
		sv.mu.Unlock()
		return
	}
	switch {
	case sv.backoff == 0 || time.Since(p.began) >= restartResetAfter:
		sv.backoff = restartFirstDelay
	default:
		sv.backoff = min(2*sv.backoff, restartMaxDelay)
	}
	delay := sv.backoff
	sv.mu.Unlock()
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.ctx.Done():
		return
	}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.proc != p || sv.held { // Controller.Start or Kill came first
		return
	}
	if err := s.launchLocked(sv); err == nil {
		sv.restarts++
	}
}

// fork starts a child unless the stack is stopping.
func (s *Stack) fork(spec launchSpec, out *os.File) (p *proc, err error) {
	s.launchMu.Lock()
	defer s.launchMu.Unlock()
	if s.ctx.Err() != nil {
		return nil, fmt.Errorf("stack is stopping")
	}
	onLauncherThread(func() {
		p, err = launch(spec, out, filepath.Join(s.cfg.RunDir, "pids"), s.pg)
	})
	return p, err
}

// launcherThread forks every child from one OS thread that never exits:
// Linux delivers Pdeathsig when the forking *thread* ends, and Go may retire
// a thread while the process lives on.
var launcherThread = sync.OnceValue(func() chan func() {
	ch := make(chan func())
	go func() {
		runtime.LockOSThread() // never unlocked
		for f := range ch {
			f()
		}
	}()
	return ch
})

func onLauncherThread(f func()) {
	done := make(chan struct{})
	launcherThread() <- func() { defer close(done); f() }
	<-done
}

// Stop kills every process of the stack, closes Toxiproxy, removes RunDir
// and releases the watchdog. It is idempotent.
func (s *Stack) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Stack) stop(ctx context.Context) error {
	s.cancel()
	s.launchMu.Lock() // waits for a launch in flight; later ones see ctx done
	s.launchMu.Unlock()
	// A cancelled or nearly expired ctx (Ctrl-C) must not cut the cleanup
	// short: the floor leaves time for SIGKILLed processes to exit.
	deadline := time.Now().Add(15 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
		if floor := time.Now().Add(2 * time.Second); deadline.Before(floor) {
			deadline = floor
		}
	}
	var errs []error
	if err := killTree(stackSelector(s.cfg.RunDir), deadline); err != nil {
		errs = append(errs, err)
	}
	for _, sv := range s.svcs {
		sv.mu.Lock()
		p := sv.proc
		sv.mu.Unlock()
		if p != nil {
			select {
			case <-p.done:
			case <-time.After(time.Until(deadline)):
				errs = append(errs, fmt.Errorf("%s (pid %d) not reaped", sv.name, p.ref.PID))
			}
		}
	}
	if s.toxi != nil {
		tctx, cancel := context.WithDeadline(context.Background(), deadline)
		errs = append(errs, s.toxi.close(tctx))
		cancel()
	}
	logsDone := make(chan struct{})
	go func() { s.logs.wg.Wait(); close(logsDone) }()
	select {
	case <-logsDone:
	case <-time.After(time.Until(deadline)):
	}
	if err := os.RemoveAll(s.cfg.RunDir); err != nil {
		errs = append(errs, err)
	}
	if err := removeCgroups(s.cfg.RunDir); err != nil {
		errs = append(errs, err)
	}
	if s.wd != nil {
		errs = append(errs, s.wd.release())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("local: stop: %w", err)
	}
	return nil
}

// Controller returns the process controller for the chaos plane.
func (s *Stack) Controller() compose.Controller { return controller{s} }

// ToxiproxyURL is the embedded Toxiproxy API.
func (s *Stack) ToxiproxyURL() string {
	return "http://" + addr(s.cfg.Topology.Service(compose.SvcToxiproxy).Port("main"))
}

// ToxiproxyTarpit: the embedded Toxiproxy dials the runner's own tarpit.
func (s *Stack) ToxiproxyTarpit() string { return "" }

// ClientAddr is where a client on this host reaches a service's port.
func (s *Stack) ClientAddr(svc, port string) string {
	return addr(s.cfg.Topology.Service(svc).Port(port))
}

// DialContext dials an address as the stack's services name each other:
// locally that is a loopback address already.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// AdminToken: the api's admin endpoints trust loopback.
func (s *Stack) AdminToken() string { return "" }

// Capabilities is what this stack offers beyond its Controller: Offers,
// as it was when the stack started.
func (s *Stack) Capabilities() compose.Capabilities { return s.offers }

// Offers is what a local stack started by this runner can do beyond its
// Controller. Memory limits and CPU weights need cgroups, which only root
// can create here (cgroup.go). The runner's privileges do not change while
// it runs: the cgroup probes run once per process, not once per stack.
var Offers = sync.OnceValue(func() compose.Capabilities {
	c := compose.Capabilities{Missing: map[compose.Capability]string{}}
	if err := MemoryLimits(); err != nil {
		c.Missing[compose.MemoryLimits] = err.Error()
	}
	if err := CPUWeights(); err != nil {
		c.Missing[compose.CPUWeights] = err.Error()
	}
	return c
})

// Topology is the topology the stack runs.
func (s *Stack) Topology() compose.Topology { return s.cfg.Topology }

// RunDir is where the stack keeps its files (logs are in RunDir/logs).
func (s *Stack) RunDir() string { return s.cfg.RunDir }

// ReadyAfter tells, per service, how long after Start's call it was
// healthy: the cold-start profile.
func (s *Stack) ReadyAfter() map[string]time.Duration {
	out := map[string]time.Duration{}
	for n, sv := range s.svcs {
		out[n] = sv.readyAfter
	}
	return out
}

// Services lists the services this stack runs (Toxiproxy excluded), sorted.
func (s *Stack) Services() []string { return slices.Clone(s.names) }

// checkPortsFree fails early when a port of the stack is taken: otherwise a
// leftover server could answer our health checks.
func checkPortsFree(topo compose.Topology, names []string) error {
	ports := []int{topo.Service(compose.SvcToxiproxy).Port("main")}
	for _, l := range topo.Links {
		ports = append(ports, l.Listen)
	}
	for _, n := range names {
		for _, p := range topo.Service(n).Ports {
			ports = append(ports, p)
		}
	}
	var busy []string
	for _, p := range ports {
		ln, err := net.Listen("tcp", addr(p))
		if err != nil {
			busy = append(busy, fmt.Sprint(p))
			continue
		}
		ln.Close()
	}
	if len(busy) > 0 {
		return fmt.Errorf("local: ports already in use: %v (a stack still running? see Reap)", busy)
	}
	return nil
}

// prepareRunDir creates RunDir, after reaping a leftover of a dead runner.
// It never deletes a non-empty directory that is not a stack's RunDir.
func prepareRunDir(dir string) error {
	if isStackDir(dir) {
		if owner, alive := stackOwner(dir); alive {
			return fmt.Errorf("local: %s belongs to a running stack (pid %d)", dir, owner.PID)
		}
		if err := reapDir(dir); err != nil {
			return err
		}
	} else if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("local: RunDir %s exists and is not a whatif stack directory; refusing to use it", dir)
	}
	// Every directory we create on the way must be traversable by postgres.
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == filepath.Dir(d) {
			break
		}
		created = append(created, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("local: %w", err)
	}
	for _, d := range append(created, dir) {
		if err := os.Chmod(d, 0o755); err != nil {
			return fmt.Errorf("local: %w", err)
		}
	}
	for _, sub := range []string{"logs", "pids"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("local: %w", err)
		}
	}
	self, _ := readProc(os.Getpid())
	return writePidFile(filepath.Join(dir, ownerFile), procRef{PID: self.PID, Start: self.Start})
}
