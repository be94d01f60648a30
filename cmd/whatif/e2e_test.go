package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/compose/local"
)

// buildBinaries builds whatif and the services into a temp dir, the way
// the Makefile does, so the tests run the CLI a user runs.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for pkg, name := range map[string]string{".": "whatif", "../../services/api": "whatif-api", "../../services/broker": "whatif-broker"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir
}

func needStack(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with the real stack: skipped with -short")
	}
	for _, b := range []string{"/usr/lib/postgresql/15/bin/postgres", "/usr/bin/patroni", "/usr/bin/redis-server"} {
		if _, err := os.Stat(b); err != nil {
			t.Skipf("%s missing (make deps installs it)", b)
		}
	}
}

// exitCode runs the CLI and returns its exit code and combined output.
func exitCode(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(filepath.Join(bin, "whatif"), args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("running whatif %v: %v", args, err)
	return -1, ""
}

// assertNothingLeft checks that no process mentions the stack's run dir and
// that no port of the stack still listens.
func assertNothingLeft(t *testing.T, base int) {
	t.Helper()
	runDir := filepath.Join(local.DefaultStateRoot(), itoa(base))
	if _, err := os.Stat(runDir); err == nil {
		t.Errorf("run dir %s still exists", runDir)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(runDir)) {
			t.Errorf("process %s still running: %s", p, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	top := compose.Default(base)
	for _, s := range top.Services {
		for _, port := range s.Ports {
			if listening(port) {
				t.Errorf("port %d of %s still listens", port, s.Name)
			}
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// --break must make the protected run fail, with the check named.
func TestBreakProtectionFailsProtectedRun(t *testing.T) {
	needStack(t)
	bin := buildBinaries(t)
	results := t.TempDir()
	const base = 17600
	// cache-stampede: the shortest quick run (15 s); without early refresh
	// its hot key does expire, and readers find it missing.
	code, out := exitCode(t, bin, "run", "cache-stampede", "--quick", "--variant", "protected", "--load", "normal",
		"--break", "early_refresh", "--results", results, "--base", itoa(base))
	if code != 1 {
		t.Fatalf("exit code %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, `FAIL protected/normal: "hot key missing (reads that found no entry)"`) {
		t.Errorf("output does not name the failing check:\n%s", out)
	}
	sums, _ := filepath.Glob(filepath.Join(results, "cache-stampede", "*", "summary.json"))
	if len(sums) != 1 {
		t.Fatalf("want one summary.json, got %v", sums)
	}
	var sum struct {
		Verdict string `json:"verdict"`
		Runs    []struct {
			Broken []string `json:"broken"`
		} `json:"runs"`
	}
	b, _ := os.ReadFile(sums[0])
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Verdict != "FAIL" || len(sum.Runs) != 1 || len(sum.Runs[0].Broken) != 1 {
		t.Errorf("summary: %+v", sum)
	}
	for _, f := range []string{"report.md", "timeline.jsonl", "junit.xml"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(sums[0]), f)); err != nil {
			t.Errorf("report file missing: %v", err)
		}
	}
	assertNothingLeft(t, base)
}

func TestUpStatusDown(t *testing.T) {
	needStack(t)
	bin := buildBinaries(t)
	const base = 17800
	b := itoa(base)
	t.Cleanup(func() { exitCode(t, bin, "down", "--base", b) })
	if code, out := exitCode(t, bin, "up", "--base", b); code != 0 {
		t.Fatalf("up: exit %d\n%s", code, out)
	}
	if code, out := exitCode(t, bin, "up", "--base", b); code == 0 || !strings.Contains(out, "already up") {
		t.Errorf("second up: exit %d, want a refusal\n%s", code, out)
	}
	if code, out := exitCode(t, bin, "status", "--base", b); code != 0 {
		t.Errorf("status: exit %d\n%s", code, out)
	}
	if code, out := exitCode(t, bin, "down", "--base", b); code != 0 {
		t.Fatalf("down: exit %d\n%s", code, out)
	}
	assertNothingLeft(t, base)
	if code, out := exitCode(t, bin, "status", "--base", b); code == 0 || !strings.Contains(out, "no stack is up") {
		t.Errorf("status after down: exit %d\n%s", code, out)
	}
}
