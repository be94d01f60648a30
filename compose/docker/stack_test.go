package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/compose/local"
)

// Bases of this package's stacks (others are in use on shared machines).
const (
	testBase     = 19200
	testReapBase = 19400
)

func TestMain(m *testing.M) {
	tclog.SetDefault(tclog.NewNoopLogger())
	code := m.Run()
	// A failed test may leave a stack: never leak containers.
	if !testing.Short() && Available(context.Background()) == nil {
		for _, b := range []int{testBase, testReapBase} {
			if err := Reap(context.Background(), b); err != nil {
				fmt.Fprintln(os.Stderr, "reap:", err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// needDocker skips with one line when the test cannot run here.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("SKIP: -short: the compose stack tests start containers")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := Available(ctx); err != nil {
		t.Skipf("SKIP: no Docker engine answers (%v); the compose stack needs one", err)
	}
}

// left counts what of a project exists in the engine.
type left struct{ containers, networks, volumes int }

// leftovers lists what of the project still exists in the engine.
func leftovers(t *testing.T, base int) left {
	t.Helper()
	ctx := context.Background()
	cli, err := newClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	f := client.Filters{}.Add("label", labelProject+"="+ProjectName(base))
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	vs, err := cli.VolumeList(ctx, client.VolumeListOptions{Filters: f})
	if err != nil {
		t.Fatal(err)
	}
	return left{len(cs.Items), len(ns.Items), len(vs.Items)}
}

// A runner killed mid-run leaves containers and a network; Reap removes
// them, and only them.
func TestReapRemovesLeftovers(t *testing.T) {
	needDocker(t)
	ctx := context.Background()
	p, err := NewProject(compose.Default(testReapBase), DefaultImages, DefaultPatroniTimers)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := newClient(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.NetworkCreate(ctx, p.Name, client.NetworkCreateOptions{Driver: "bridge", Labels: p.labels("")}); err != nil {
		t.Fatal(err)
	}
	// A bystander without our label must survive.
	other, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		Started: true,
		ContainerRequest: testcontainers.ContainerRequest{
			Image: DefaultImages.Debian, Cmd: []string{"sleep", "300"}, Labels: map[string]string{"dev.whatif.test": "bystander"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer testcontainers.TerminateContainer(other)
	// and a bystander volume
	const otherVol = "whatif-test-bystander"
	if _, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: otherVol}); err != nil {
		t.Fatal(err)
	}
	defer cli.VolumeRemove(ctx, otherVol, client.VolumeRemoveOptions{Force: true})
	if _, err := cli.VolumeCreate(ctx, client.VolumeCreateOptions{Name: p.VolumeName("a"), Labels: p.labels("a")}); err != nil {
		t.Fatal(err)
	}
	for _, svc := range []string{"a", "b"} {
		_, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
			Started: true,
			ContainerRequest: testcontainers.ContainerRequest{
				Image: DefaultImages.Debian, Name: p.ContainerName(svc), Cmd: []string{"sleep", "300"},
				Labels: p.labels(svc), Networks: []string{p.Name},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if l := leftovers(t, testReapBase); l != (left{2, 1, 1}) {
		t.Fatalf("setup: %+v", l)
	}
	if err := Reap(ctx, testReapBase); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, testReapBase); l != (left{}) {
		t.Fatalf("after Reap: %+v left", l)
	}
	if st, err := other.State(ctx); err != nil || !st.Running {
		t.Fatalf("the bystander container was touched: %v %+v", err, st)
	}
	if _, err := cli.VolumeInspect(ctx, otherVol, client.VolumeInspectOptions{}); err != nil {
		t.Fatalf("the bystander volume was touched: %v", err)
	}
}

// The whole stack under docker: healthy as local mode defines it, the
// Controller's faults mean what they mean locally, and Stop leaves nothing.
func TestStackFaultsAndCleanup(t *testing.T) {
	needDocker(t)
	ctx := context.Background()
	topo := compose.Default(testBase)
	t0 := time.Now()
	st, err := Start(ctx, Config{Topology: topo})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Stop(context.Background()) })
	t.Logf("cold start %.1fs; ready after: %v", time.Since(t0).Seconds(), st.ReadyAfter())
	for _, svc := range topo.ServiceNames() {
		probe, _ := local.Probe(topo, svc)
		if _, err := probe(ctx); err != nil {
			t.Fatalf("%s not healthy after Start: %v", svc, err)
		}
	}
	// every service with state keeps it on its own volume
	proj, err := NewProject(topo, DefaultImages, DefaultPatroniTimers)
	if err != nil {
		t.Fatal(err)
	}
	stateful := 0
	for _, c := range proj.Default() {
		if c.StateDir != "" {
			stateful++
		}
	}
	if l := leftovers(t, testBase); stateful < 3 || l.volumes != stateful {
		t.Fatalf("%d state volumes for %d services with a StateDir", l.volumes, stateful)
	}
	ctl := st.Controller()
	redis := compose.Addr(topo.Service(compose.SvcRedis).Port("main"))
	ping := func() error {
		c, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		p, _ := local.Probe(topo, compose.SvcRedis)
		_, err := p(c)
		return err
	}

	t.Run("pause freezes, resume thaws", func(t *testing.T) {
		if err := ctl.Pause(ctx, compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		err := ping()
		if !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("PING to a paused redis: want a timeout, got %v", err)
		}
		if err := ctl.Resume(ctx, compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		if err := ping(); err != nil {
			t.Fatalf("after Resume: %v", err)
		}
	})

	t.Run("kill stops, start restarts", func(t *testing.T) {
		if err := ctl.Kill(ctx, compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		if err := ping(); err == nil {
			t.Fatal("redis answers PING after Kill")
		}
		// docker's port publisher still accepts: a dead service looks like
		// "accept then EOF", as an upstream behind Toxiproxy does.
		if c, err := net.DialTimeout("tcp", redis, time.Second); err == nil {
			c.Close()
		}
		if err := ctl.Start(ctx, compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		if err := ping(); err != nil {
			t.Fatalf("after Start: %v", err)
		}
	})

	t.Run("start on a paused service resumes it", func(t *testing.T) {
		if err := ctl.Pause(ctx, compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		if err := ctl.Start(ctx, compose.SvcRedis); err != nil {
			t.Fatal(err)
		}
		if err := ping(); err != nil {
			t.Fatalf("after Start of a paused redis: %v", err)
		}
	})

	t.Run("killed leader is replaced and rejoins as a streaming replica", func(t *testing.T) {
		lead, other := patroniLeader(t, topo)
		t1 := time.Now()
		if err := ctl.Kill(ctx, lead); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for patroniRole(topo, other) != "primary" {
			if time.Now().After(deadline) {
				t.Fatalf("%s not promoted within 60s of killing %s", other, lead)
			}
			time.Sleep(100 * time.Millisecond) // polling another process's state
		}
		t.Logf("%s promoted %.1fs after SIGKILL of %s", other, time.Since(t1).Seconds(), lead)
		t2 := time.Now()
		if err := ctl.Start(ctx, lead); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s back as a streaming replica in %.1fs", lead, time.Since(t2).Seconds())
		if r := patroniRole(topo, lead); r != "replica" {
			t.Fatalf("old leader %s role %q after Start, want replica", lead, r)
		}
	})

	if err := st.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, testBase); l != (left{}) {
		t.Fatalf("after Stop: %+v left", l)
	}
	if err := ctl.Start(ctx, compose.SvcRedis); err == nil {
		t.Fatal("Controller.Start after Stop succeeded")
	}
}

func patroniRole(topo compose.Topology, node string) string {
	resp, err := (&http.Client{Timeout: time.Second}).Get("http://" + compose.Addr(topo.Service(node).Port("rest")) + "/patroni")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var st struct{ Role string }
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return ""
	}
	if st.Role == "master" {
		return "primary"
	}
	return st.Role
}

func patroniLeader(t *testing.T, topo compose.Topology) (lead, other string) {
	t.Helper()
	switch {
	case patroniRole(topo, compose.SvcPG0) == "primary":
		return compose.SvcPG0, compose.SvcPG1
	case patroniRole(topo, compose.SvcPG1) == "primary":
		return compose.SvcPG1, compose.SvcPG0
	}
	t.Fatal("no Patroni leader")
	return "", ""
}
