package local

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fakeStackDir makes a RunDir whose owner is dead, with one recorded
// process (a sleep started without Pdeathsig, as if left by a crash).
func fakeStackDir(t *testing.T, root string) (string, *exec.Cmd) {
	t.Helper()
	dir := filepath.Join(root, "17999")
	for _, d := range []string{"pids", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// An owner that cannot be alive: pid 1's start time never matches.
	if err := writePidFile(filepath.Join(dir, ownerFile), procRef{PID: 1, Start: 1 << 62}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	info, _ := readProc(cmd.Process.Pid)
	if err := writePidFile(filepath.Join(dir, "pids", "sleep.pid"), procRef{PID: info.PID, Start: info.Start}); err != nil {
		t.Fatal(err)
	}
	return dir, cmd
}

func TestReapStateRoot(t *testing.T) {
	root := t.TempDir()
	dir, cmd := fakeStackDir(t, root)
	// A directory that is not a stack must survive Reap of the root.
	keep := filepath.Join(root, "not-a-stack")
	if err := os.MkdirAll(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	if err := Reap(root); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("recorded process not killed")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("RunDir still there: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("Reap removed a directory that is not a stack: %v", err)
	}
}

func TestReapOneRunDir(t *testing.T) {
	dir, cmd := fakeStackDir(t, t.TempDir())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := Reap(dir); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("recorded process not killed")
	}
	if err := Reap(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("Reap of a missing root: %v", err)
	}
}

func TestPrepareRunDirRefusesForeignDir(t *testing.T) {
	dir := t.TempDir()
	_ = os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o644)
	if err := prepareRunDir(dir); err == nil {
		t.Fatal("prepareRunDir took over a non-empty foreign directory")
	}
	if _, err := os.Stat(filepath.Join(dir, "precious")); err != nil {
		t.Fatal(err)
	}
}
