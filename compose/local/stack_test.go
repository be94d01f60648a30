package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/compose"
)

// startTestStack starts every service whose binary is available and stops
// the stack at the end, dumping log tails if the test failed.
func startTestStack(t *testing.T, base int) *Stack {
	t.Helper()
	bin, only := availableServices(t)
	topo := compose.Default(base)
	_ = Reap(DefaultRunDir(base)) // a crashed earlier run of this test
	began := time.Now()
	s, err := Start(testCtx(t, 120*time.Second), Config{Topology: topo, BinDir: bin, Only: only})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cold start: all healthy after %v; per service: %v", time.Since(began).Round(time.Millisecond), roundAll(s.ReadyAfter()))
	t.Cleanup(func() {
		dumpLogsIfFailed(t, s)
		if err := s.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return s
}

// dumpLogsIfFailed prints the tail of every service log of a failed test
// (while RunDir still exists).
func dumpLogsIfFailed(t *testing.T, s *Stack) {
	if !t.Failed() {
		return
	}
	for _, n := range append(s.Services(), compose.SvcToxiproxy, templateSvc) {
		if tail := tailFile(filepath.Join(s.RunDir(), "logs", n+".log"), 40); tail != "" {
			t.Logf("--- %s log tail ---\n%s", n, tail)
		}
	}
}

func roundAll(m map[string]time.Duration) map[string]time.Duration {
	for k, v := range m {
		m[k] = v.Round(10 * time.Millisecond)
	}
	return m
}

func statusOf(t *testing.T, s *Stack) map[string]ServiceStatus {
	t.Helper()
	out := map[string]ServiceStatus{}
	for _, st := range s.Status(testCtx(t, 20*time.Second)) {
		out[st.Name] = st
	}
	return out
}

func pgConn(t *testing.T, hostport string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(compose.PGURL(hostport) + "&connect_timeout=3")
	if err != nil {
		t.Fatal(err)
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol // works through PgBouncer too
	c, err := pgx.ConnectConfig(testCtx(t, 10*time.Second), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func exec1(ctx context.Context, hostport, sql string, args ...any) error {
	cfg, err := pgx.ParseConfig(compose.PGURL(hostport) + "&connect_timeout=2")
	if err != nil {
		return err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, sql, args...)
	return err
}

// nodeOf says which pg node a connection through hostport lands on.
func nodeOf(ctx context.Context, topo compose.Topology, hostport string) (string, error) {
	var port string
	if err := pgQuery(ctx, hostport, "SELECT current_setting('port')", &port); err != nil {
		return "", err
	}
	for _, n := range []string{compose.SvcPG0, compose.SvcPG1} {
		if fmt.Sprint(topo.Service(n).Port("main")) == port {
			return n, nil
		}
	}
	return "", fmt.Errorf("port %s is no pg node", port)
}

// refsOf pins pids to their start times, so a reused pid never counts.
func refsOf(pids []int) []procRef {
	var out []procRef
	for _, pid := range pids {
		if p, ok := readProc(pid); ok {
			out = append(out, procRef{PID: pid, Start: p.Start})
		}
	}
	return out
}

func alive(refs []procRef) []int {
	var out []int
	for _, r := range refs {
		if r.alive() {
			out = append(out, r.PID)
		}
	}
	return out
}

// TestStack is the end-to-end check of the local backend on one stack:
// status, writes and reads through every path, Pause/Resume, failover by
// Kill, rejoin by Start, and a Stop that leaves nothing behind.
func TestStack(t *testing.T) {
	requireDebian(t)
	s := startTestStack(t, baseStack)
	topo := s.Topology()
	ha := topo.Service(compose.SvcHAProxy)
	writeAddr, readAddr := compose.Addr(ha.Port("main")), compose.Addr(ha.Port("read"))
	bouncerAddr := compose.Addr(topo.Service(compose.SvcPgBouncer).Port("main"))

	// Status: everything healthy, one leader and one streaming replica.
	st := statusOf(t, s)
	leader, replica := "", ""
	for _, n := range append(s.Services(), compose.SvcToxiproxy) {
		if !st[n].Healthy || len(st[n].PIDs) == 0 {
			t.Fatalf("status %s: %+v", n, st[n])
		}
	}
	for _, n := range []string{compose.SvcPG0, compose.SvcPG1} {
		switch st[n].Detail {
		case "leader":
			leader = n
		case "replica":
			replica = n
		}
		if len(st[n].PIDs) < 3 {
			t.Errorf("%s: expected Patroni plus a postmaster tree, got pids %v", n, st[n].PIDs)
		}
	}
	if leader == "" || replica == "" {
		t.Fatalf("want a leader and a replica: pg0=%q pg1=%q", st["pg0"].Detail, st["pg1"].Detail)
	}
	if st[compose.SvcHAProxy].Detail != "write="+leader {
		t.Errorf("haproxy detail %q, leader %s", st[compose.SvcHAProxy].Detail, leader)
	}

	t.Run("write and read paths", func(t *testing.T) {
		t.Cleanup(func() { dumpLogsIfFailed(t, s) })
		ctx := testCtx(t, 30*time.Second)
		w := pgConn(t, writeAddr)
		if _, err := w.Exec(ctx, "CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text)"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Exec(ctx, "INSERT INTO kv VALUES ('via-haproxy', '1')"); err != nil {
			t.Fatal(err)
		}
		if _, err := pgConn(t, bouncerAddr).Exec(ctx, "INSERT INTO kv VALUES ('via-pgbouncer', '2')"); err != nil {
			t.Fatal(err)
		}
		r := pgConn(t, readAddr)
		var inRecovery bool
		if err := r.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || !inRecovery {
			t.Fatalf("read port should prefer the replica: in recovery=%v err=%v", inRecovery, err)
		}
		eventually(t, 5*time.Second, "rows replicated", func() error {
			var n int
			if err := r.QueryRow(ctx, "SELECT count(*) FROM kv").Scan(&n); err != nil {
				return err
			}
			if n != 2 {
				return fmt.Errorf("%d rows on replica", n)
			}
			return nil
		})
	})

	t.Run("cpu weight reaches the whole tree", func(t *testing.T) {
		if err := CPUWeights(); err != nil {
			t.Skip(err)
		}
		ctl := s.Controller().(compose.CPUWeighter)
		if err := ctl.SetCPUWeight(testCtx(t, 10*time.Second), replica, 1); err == nil {
			t.Error("weight 1 accepted")
		}
		if err := ctl.SetCPUWeight(testCtx(t, 10*time.Second), replica, 2); err != nil {
			t.Fatal(err)
		}
		want := "/" + cgroupPrefix(s.cfg.RunDir) + replica
		checked := 0
		for _, pid := range statusOf(t, s)[replica].PIDs {
			if got, ok := cpuCgroupOf(t, pid); ok && got != want {
				t.Errorf("%s pid %d in cpu cgroup %q, want %q", replica, pid, got, want)
			} else if ok {
				checked++
			}
		}
		if checked < 3 {
			t.Errorf("only %d live processes of %s checked; want Patroni and a postmaster tree", checked, replica)
		}
		// the lowest weight is the idle class, where the kernel has one
		cgFile := func(name string) string {
			b, err := os.ReadFile(filepath.Join(cpuCgroupRoot, want, name))
			if err != nil {
				return "missing"
			}
			return strings.TrimSpace(string(b))
		}
		switch idle := cgFile("cpu.idle"); idle {
		case "1":
		case "missing":
			if got := cgFile("cpu.shares"); got != "2" {
				t.Errorf("cpu.shares %q without cpu.idle, want 2", got)
			}
		default:
			t.Errorf("cpu.idle %q at the lowest weight, want 1", idle)
		}
		// a backend forked afterwards inherits it
		r := pgConn(t, readAddr)
		var backend int
		if err := r.QueryRow(testCtx(t, 5*time.Second), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
			t.Fatal(err)
		}
		if got, ok := cpuCgroupOf(t, backend); !ok || got != want {
			t.Errorf("new replica backend %d in cpu cgroup %q (alive %v), want %q", backend, got, ok, want)
		}
		if err := ctl.SetCPUWeight(testCtx(t, 10*time.Second), replica, compose.DefaultCPUWeight); err != nil {
			t.Fatal(err)
		}
		if idle, shares := cgFile("cpu.idle"), cgFile("cpu.shares"); (idle != "0" && idle != "missing") || shares != "1024" {
			t.Errorf("back at the default weight: cpu.idle %q, cpu.shares %q; want 0 and 1024", idle, shares)
		}
	})

	t.Run("pause, resume, kill and start redis", func(t *testing.T) {
		ctl := s.Controller()
		rc := redis.NewClient(&redis.Options{Addr: compose.Addr(topo.Service(compose.SvcRedis).Port("main")), MaxRetries: -1, ContextTimeoutEnabled: true})
		defer rc.Close()
		if err := ctl.Pause(testCtx(t, 10*time.Second), compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		for _, pid := range statusOf(t, s)[compose.SvcRedis].PIDs {
			if c := procState(pid); c != 'T' {
				t.Errorf("redis pid %d state %c while paused", pid, c)
			}
		}
		pctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		err := rc.Ping(pctx).Err()
		cancel()
		if err == nil {
			t.Fatal("PING answered while redis was paused")
		}
		if err := ctl.Resume(testCtx(t, 10*time.Second), compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		if err := rc.Ping(testCtx(t, 5*time.Second)).Err(); err != nil {
			t.Fatalf("PING after resume: %v", err)
		}

		old := refsOf(statusOf(t, s)[compose.SvcRedis].PIDs)
		if err := ctl.Kill(testCtx(t, 10*time.Second), compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		if left := alive(old); len(left) > 0 {
			t.Fatalf("redis survived Kill: %v", left)
		}
		if err := ctl.Start(testCtx(t, 20*time.Second), compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		if err := rc.Ping(testCtx(t, 5*time.Second)).Err(); err != nil {
			t.Fatalf("PING after Start: %v", err)
		}
		// Start on a running service only waits for health (safe as Recover).
		if err := ctl.Start(testCtx(t, 20*time.Second), compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("controller errors", func(t *testing.T) {
		ctl := s.Controller()
		for _, svc := range []string{"nosuch", compose.SvcToxiproxy} {
			if err := ctl.Kill(context.Background(), svc); err == nil {
				t.Errorf("Kill(%q) succeeded", svc)
			}
		}
	})

	t.Run("failover and rejoin", func(t *testing.T) {
		t.Cleanup(func() { dumpLogsIfFailed(t, s) })
		ctl := s.Controller()
		old := refsOf(statusOf(t, s)[leader].PIDs)
		killed := time.Now()
		if err := ctl.Kill(testCtx(t, 20*time.Second), leader); err != nil {
			t.Fatal(err)
		}
		if left := alive(old); len(left) > 0 {
			t.Fatalf("Kill(%s) left processes running: %v (postmaster and backends included?)", leader, left)
		}
		// Failover: the first write through HAProxy that lands on the
		// promoted replica.
		failover := eventually(t, 30*time.Second, "promotion of "+replica, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := exec1(ctx, writeAddr, "INSERT INTO kv VALUES ($1, 'after-failover') ON CONFLICT DO NOTHING", "failover"); err != nil {
				return err
			}
			node, err := nodeOf(ctx, topo, writeAddr)
			if err != nil {
				return err
			}
			if node != replica {
				return fmt.Errorf("write landed on %s", node)
			}
			return nil
		})
		t.Logf("failover: first write on %s %v after SIGKILL of leader %s", replica, (time.Since(killed) - 0).Round(time.Millisecond), leader)
		_ = failover

		restarted := time.Now()
		if err := ctl.Start(testCtx(t, 60*time.Second), leader); err != nil {
			t.Fatal(err)
		}
		startReturned := time.Since(restarted)
		eventually(t, 60*time.Second, leader+" streaming as replica", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			role, err := s.svcs[leader].health(ctx)
			if err != nil {
				return err
			}
			if role != "replica" {
				return fmt.Errorf("role %s", role)
			}
			return nil
		})
		t.Logf("rejoin: Start(%s) returned after %v (streaming replica)", leader, startReturned.Round(time.Millisecond))
		// The rejoined node has what was written after the failover.
		var v string
		direct := compose.Addr(topo.Service(leader).Port("main"))
		eventually(t, 10*time.Second, "post-failover row on rejoined node", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			return pgQuery(ctx, direct, "SELECT v FROM kv WHERE k = 'failover'", &v)
		})
		// HAProxy moves reads back to the replica (cutting sessions on the
		// backup leader) as soon as its check passes; then it is steady.
		eventually(t, 10*time.Second, "haproxy healthy after rejoin", func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := s.svcs[compose.SvcHAProxy].health(ctx)
			return err
		})
	})

	t.Run("app instance: the OOM killer ends it, its policy restarts it, Kill keeps it down", func(t *testing.T) {
		if !contains(s.Services(), compose.SvcApp0) {
			t.Skip("no api binary: app instances not started")
		}
		if err := MemoryLimits(); err != nil {
			t.Skip(err)
		}
		t.Cleanup(func() { dumpLogsIfFailed(t, s) })
		ctx := testCtx(t, 90*time.Second)
		rc := s.Controller().(compose.RestartCounter)
		app := "http://" + compose.Addr(topo.Service(compose.SvcApp0).Port("main"))
		before, err := rc.Restarts(ctx, compose.SvcApp0)
		if err != nil {
			t.Fatal(err)
		}
		if before.OOMKills < 0 {
			t.Skipf("no memory cgroup here (see the app0 log); the limit is not enforced")
		}
		// unbounded cache, no cap: 32 MiB exports pile up past the 256 MiB limit
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, app+"/admin/protections", strings.NewReader(`{"cache_bound":false,"payload_cap":false}`))
		if resp, err := http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		} else {
			resp.Body.Close()
		}
		died := false
		for i := range 2 * compose.AppMemLimit / (32 << 20) {
			resp, err := http.Get(fmt.Sprintf("%s/exports/%d?kb=%d", app, 1000+i, 32<<10))
			if err != nil {
				died = true
				break
			}
			resp.Body.Close()
		}
		if !died {
			t.Fatalf("app0 survived twice its memory limit in exports")
		}
		eventually(t, 30*time.Second, "app0 restarted by its policy", func() error {
			r, err := rc.Restarts(ctx, compose.SvcApp0)
			if err != nil {
				return err
			}
			if r.Restarts != before.Restarts+1 || r.OOMKills != before.OOMKills+1 {
				return fmt.Errorf("restarts %d, OOM kills %d (before %+v)", r.Restarts, r.OOMKills, before)
			}
			return httpOK(ctx, app+"/health")
		})
		// the switches survived the restart (state file)
		resp, err := http.Get(app + "/admin/protections")
		if err != nil {
			t.Fatal(err)
		}
		var prot map[string]bool
		err = json.NewDecoder(resp.Body).Decode(&prot)
		resp.Body.Close()
		if err != nil || prot["payload_cap"] || prot["cache_bound"] {
			t.Errorf("protections after restart %v (%v), want payload_cap and cache_bound still off", prot, err)
		}
		if err := s.Controller().Kill(ctx, compose.SvcApp0); err != nil {
			t.Fatal(err)
		}
		// held down: two restart delays later it is still not answering
		held := time.Now().Add(2 * restartFirstDelay * 4)
		for time.Now().Before(held) {
			if httpOK(ctx, app+"/health") == nil {
				t.Fatal("app0 came back after Controller.Kill")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := s.Controller().Start(ctx, compose.SvcApp0); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("stop leaves nothing", func(t *testing.T) {
		if err := s.Stop(testCtx(t, 30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		assertNoLeftovers(t, s.RunDir(), topo, 10*time.Second)
		if err := s.Controller().Start(context.Background(), compose.SvcRedis); err == nil {
			t.Error("Controller works on a stopped stack")
		}
	})
}

// TestStartFailureNamesService: a service that dies at start makes Start
// fail with its name and log tail, and leaves nothing behind.
func TestStartFailureNamesService(t *testing.T) {
	requireDebian(t)
	bin := t.TempDir()
	script := "#!/bin/sh\necho 'broker: cannot open data dir (on purpose)' >&2\nexit 3\n"
	if err := os.WriteFile(filepath.Join(bin, brokerBinary), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	topo := compose.Default(baseSpare)
	cfg := Config{Topology: topo, BinDir: bin, Only: []string{compose.SvcRedis, compose.SvcBroker}}
	_, err := Start(testCtx(t, 30*time.Second), cfg)
	if err == nil {
		t.Fatal("Start succeeded with a broker that exits")
	}
	for _, want := range []string{"broker", "exit status 3", "cannot open data dir (on purpose)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	assertNoLeftovers(t, DefaultRunDir(baseSpare), topo, 10*time.Second)
}

// TestMissingBinary fails clearly before starting anything.
func TestMissingBinary(t *testing.T) {
	_, err := Start(context.Background(), Config{Topology: compose.Default(baseSpare), BinDir: t.TempDir(), Only: []string{compose.SvcBroker}})
	if err == nil || !strings.Contains(err.Error(), brokerBinary) {
		t.Fatalf("err = %v", err)
	}
	if _, serr := os.Stat(DefaultRunDir(baseSpare)); serr == nil {
		t.Error("RunDir created although Start failed up front")
	}
}
