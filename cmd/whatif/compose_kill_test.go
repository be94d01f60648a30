package main

import (
	"bufio"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/compose/docker"
)

// A runner killed by SIGKILL mid-fault leaves its containers, network and
// volumes behind (nothing of it survives to clean up); `whatif down` (and
// any later run at that base, through the same Reap) removes all of it.
func TestComposeRunnerKilledMidFault(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with the compose stack: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := docker.Available(ctx); err != nil {
		t.Skipf("SKIP: no Docker engine answers (%v); the compose stack needs one", err)
	}
	bin := buildBinaries(t)
	const base = 18200
	b := itoa(base)
	t.Cleanup(func() { exitCode(t, bin, "down", "--stack", "compose", "--base", b) })

	run := exec.Command(filepath.Join(bin, "whatif"), "run", "redis-crash", "--quick", "--stack", "compose",
		"--variant", "protected", "--load", "normal", "--base", b, "--results", t.TempDir())
	out, err := run.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	run.Stderr = run.Stdout
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	faulted := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "---- fault") {
				faulted <- true
				break
			}
		}
		faulted <- false
		for sc.Scan() { // keep the pipe drained until the kill
		}
	}()
	select {
	case ok := <-faulted:
		if !ok {
			_ = run.Wait()
			t.Fatal("the run ended before its fault phase")
		}
	case <-time.After(4 * time.Minute):
		t.Fatal("no fault phase within 4 minutes")
	}
	if err := run.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = run.Wait()

	project := "label=com.docker.compose.project=" + docker.ProjectName(base)
	count := func(args ...string) int {
		t.Helper()
		o, err := exec.Command("docker", append(args, "-q", "--filter", project)...).Output()
		if err != nil {
			t.Fatalf("docker %v: %v", args, err)
		}
		return len(strings.Fields(string(o)))
	}
	kinds := [][]string{{"ps", "-a"}, {"network", "ls"}, {"volume", "ls"}}
	for _, k := range kinds {
		if n := count(k...); n == 0 {
			t.Errorf("docker %s: nothing of the killed run left; the test proves nothing", strings.Join(k, " "))
		}
	}
	if code, o := exitCode(t, bin, "down", "--stack", "compose", "--base", b); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, o)
	}
	for _, k := range kinds {
		if n := count(k...); n != 0 {
			t.Errorf("docker %s: %d of ours left after down", strings.Join(k, " "), n)
		}
	}
}
