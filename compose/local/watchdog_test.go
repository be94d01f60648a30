package local

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/compose"
)

// Environment of the child runner started by TestWatchdog.
const (
	childBaseEnv = "WHATIF_TEST_WATCHDOG_CHILD" // base port
	childBinEnv  = "WHATIF_TEST_WATCHDOG_BINDIR"
	childOnlyEnv = "WHATIF_TEST_WATCHDOG_ONLY"
)

// TestWatchdogChild is the runner that TestWatchdog kills; it does nothing
// unless started by it.
func TestWatchdogChild(t *testing.T) {
	base := os.Getenv(childBaseEnv)
	if base == "" {
		t.Skip("helper process for TestWatchdog")
	}
	var b int
	fmt.Sscan(base, &b)
	cfg := Config{
		Topology: compose.Default(b),
		BinDir:   os.Getenv(childBinEnv),
		Only:     strings.Split(os.Getenv(childOnlyEnv), ","),
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		fmt.Println("FAILED", strings.ReplaceAll(err.Error(), "\n", " | "))
		os.Exit(1)
	}
	fmt.Println("READY", s.RunDir())
	// Block until killed; never Stop.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(3)
}

// TestWatchdog kills a runner that holds a full stack, without giving it
// any chance to clean up, and checks that the watchdog removes every process
// (including Patroni's re-parented postmaster and its setsid'd backends),
// every listener and the RunDir.
func TestWatchdog(t *testing.T) {
	requireDebian(t)
	bin, only := availableServices(t)
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			topo := compose.Default(baseWatchdog)
			_ = Reap(DefaultRunDir(baseWatchdog))
			cmd := exec.Command(os.Args[0], "-test.run=^TestWatchdogChild$", "-test.count=1")
			cmd.Env = append(os.Environ(),
				childBaseEnv+"="+fmt.Sprint(baseWatchdog), childBinEnv+"="+bin, childOnlyEnv+"="+strings.Join(only, ","))
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ready := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if line := sc.Text(); strings.HasPrefix(line, "READY ") || strings.HasPrefix(line, "FAILED ") {
						ready <- line
						return
					}
				}
				ready <- "EOF"
			}()
			var runDir string
			select {
			case line := <-ready:
				if !strings.HasPrefix(line, "READY ") {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
					t.Fatalf("child: %s\n%s", line, stderr.String())
				}
				runDir = strings.TrimPrefix(line, "READY ")
			case <-time.After(120 * time.Second):
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child never became ready\n%s", stderr.String())
			}

			// The stack really runs, postgres processes outside the
			// runner's tree included.
			before := leftovers(runDir, topo.Base)
			tab, _ := scanProcs()
			detached := 0
			inTree := map[int]bool{}
			for _, pid := range tab.descendants([]int{cmd.Process.Pid}) {
				inTree[pid] = true
			}
			for _, pid := range postgresRoots(tab, runDir) {
				if !inTree[pid] {
					detached++
				}
			}
			if len(before) < 5 || (contains(only, compose.SvcPG0) && detached == 0) {
				t.Fatalf("stack not as expected before the kill: %d processes, %d detached postgres roots", len(before), detached)
			}

			killed := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			assertNoLeftovers(t, runDir, topo, 20*time.Second)
			t.Logf("%s of the runner: %d processes (%d postgres roots outside its tree) gone, RunDir removed, ports free after %v",
				sig, len(before), detached, time.Since(killed).Round(time.Millisecond))
		})
	}
}
