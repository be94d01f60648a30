package local

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"
)

func TestStatProc(t *testing.T) {
	// A fake /proc: each stat line has every field procfs reads (up to
	// cguest_time, field 44); starttime is field 22.
	stat := func(pid int, comm string, state byte, ppid int, start uint64) string {
		return fmt.Sprintf("%d (%s) %c %d%s %d%s\n", pid, comm, state, ppid, strings.Repeat(" 0", 17), start, strings.Repeat(" 0", 22))
	}
	root := t.TempDir()
	files := map[int]string{
		42: stat(42, "sleep", 'S', 7, 12345),
		// A command name with spaces and parentheses, as a process may set.
		99: stat(99, "postgres: (x) y", 'T', 1, 777),
		5:  stat(5, "z", 'Z', 4, 1),
		6:  "6 (short) S 1 2 3\n",
		8:  "garbage\n",
	}
	for pid, content := range files {
		dir := filepath.Join(root, strconv.Itoa(pid))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := procfs.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		pid  int
		want procInfo
		ok   bool
	}{
		{42, procInfo{PID: 42, PPID: 7, State: 'S', Start: 12345}, true},
		{99, procInfo{PID: 99, PPID: 1, State: 'T', Start: 777}, true},
		{5, procInfo{PID: 5, PPID: 4, State: 'Z', Start: 1}, true},
		{6, procInfo{}, false},
		{8, procInfo{}, false},
		{3, procInfo{}, false}, // no such process
	}
	for _, c := range cases {
		if got, ok := statProc(fs, c.pid); got != c.want || ok != c.ok {
			t.Errorf("statProc(%d) = %+v, %v; want %+v, %v", c.pid, got, ok, c.want, c.ok)
		}
	}
	if !(procInfo{State: 'Z'}).gone() || (procInfo{State: 'T'}).gone() {
		t.Error("gone() wrong")
	}
}

// readProc and scanProcs read the real /proc.
func TestReadProcSelf(t *testing.T) {
	self, ok := readProc(os.Getpid())
	if !ok || self.PID != os.Getpid() || self.PPID != os.Getppid() || self.Start == 0 || self.gone() {
		t.Fatalf("readProc(self) = %+v, %v", self, ok)
	}
	tab, err := scanProcs()
	if err != nil {
		t.Fatal(err)
	}
	if got := tab[self.PID]; got.PPID != self.PPID || got.Start != self.Start {
		t.Errorf("scanProcs()[self] = %+v, want %+v", got, self) // the state may differ
	}
}

func TestDescendants(t *testing.T) {
	// 1 -> 10 -> 11 -> 12; 10 -> 13; 1 -> 20 (unrelated); 30 orphan root.
	tab := procTable{}
	for _, e := range [][2]int{{1, 0}, {10, 1}, {11, 10}, {12, 11}, {13, 10}, {20, 1}, {30, 1}, {31, 30}} {
		tab[e[0]] = procInfo{PID: e[0], PPID: e[1], State: 'S'}
	}
	cases := []struct {
		roots []int
		want  []int
	}{
		{[]int{10}, []int{10, 11, 12, 13}},
		{[]int{11, 30}, []int{11, 12, 30, 31}},
		{[]int{12, 12}, []int{12}},
		{[]int{99}, []int{}},
	}
	for _, c := range cases {
		if got := tab.descendants(c.roots); !slices.Equal(got, c.want) {
			t.Errorf("descendants(%v) = %v, want %v", c.roots, got, c.want)
		}
	}
}

// spawnTree starts sh with a plain child and a setsid'd child (the way
// postgres backends leave the process group) and returns the pids.
func spawnTree(t *testing.T) (*exec.Cmd, []int) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", "sleep 300 & setsid sleep 301 & echo ready; wait")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	buf := make([]byte, 6)
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	var pids []int
	eventually(t, 5*time.Second, "tree of 3", func() error {
		tab, err := scanProcs()
		if err != nil {
			return err
		}
		pids = tab.descendants([]int{cmd.Process.Pid})
		if len(pids) != 3 {
			return errStillRunning
		}
		return nil
	})
	// the sleeps outlive a killed sh (the setsid'd one even its group)
	t.Cleanup(func() {
		for _, pid := range pids {
			if pid != cmd.Process.Pid {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return cmd, pids
}

func procState(pid int) byte {
	p, ok := readProc(pid)
	if !ok {
		return 0
	}
	return p.State
}

func TestFreezeResumeKillTree(t *testing.T) {
	cmd, pids := spawnTree(t)
	root := cmd.Process.Pid
	sel := func(tab procTable) []int { return tab.descendants([]int{root}) }

	frozen, err := freeze(sel, time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var frozenPIDs []int
	for _, r := range frozen {
		frozenPIDs = append(frozenPIDs, r.PID)
	}
	if !slices.Equal(frozenPIDs, pids) {
		t.Errorf("froze %v, want %v", frozenPIDs, pids)
	}
	for _, pid := range pids {
		if s := procState(pid); s != 'T' {
			t.Errorf("pid %d state %c after freeze", pid, s)
		}
	}
	if _, err := signalAll(sel, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "resumed", func() error {
		for _, pid := range pids {
			if s := procState(pid); s == 'T' {
				return errStillRunning
			}
		}
		return nil
	})

	if err := killTree(sel, time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The setsid'd grandchild is re-parented (to PID 1 or a subreaper) and
	// may linger as a zombie there; it must not run.
	for _, r := range frozen {
		if r.alive() {
			t.Errorf("pid %d survived killTree", r.PID)
		}
	}
	_ = cmd.Wait()
}

func TestCwdUnder(t *testing.T) {
	cmd, pids := spawnTree(t)
	tab, err := scanProcs()
	if err != nil {
		t.Fatal(err)
	}
	got := tab.cwdUnder(cmd.Dir)
	if !slices.Equal(got, pids) {
		t.Errorf("cwdUnder(%s) = %v, want %v", cmd.Dir, got, pids)
	}
	if got := tab.cwdUnder(cmd.Dir + "x"); len(got) != 0 {
		t.Errorf("prefix without separator matched: %v", got)
	}
}

func TestPidFiles(t *testing.T) {
	dir := t.TempDir()
	self, _ := readProc(os.Getpid())
	if err := writePidFile(dir+"/a.pid", procRef{PID: self.PID, Start: self.Start}); err != nil {
		t.Fatal(err)
	}
	// Same pid, other start time: a reused pid must not be trusted.
	if err := writePidFile(dir+"/b.pid", procRef{PID: self.PID, Start: self.Start + 1}); err != nil {
		t.Fatal(err)
	}
	_ = os.WriteFile(dir+"/c.pid", []byte("garbage"), 0o644)
	got := readPidFiles(dir)
	if len(got) != 1 || got[0].PID != os.Getpid() {
		t.Errorf("readPidFiles = %v", got)
	}
}

func TestPostmasterPID(t *testing.T) {
	cmd, _ := spawnTree(t)
	// postmaster.pid trusted only when that process works in the data dir.
	_ = os.WriteFile(cmd.Dir+"/postmaster.pid", []byte(strconv.Itoa(cmd.Process.Pid)+"\n"+cmd.Dir+"\n"), 0o644)
	if pid, ok := postmasterPID(cmd.Dir); !ok || pid != cmd.Process.Pid {
		t.Errorf("postmasterPID = %d, %v", pid, ok)
	}
	other := t.TempDir()
	_ = os.WriteFile(other+"/postmaster.pid", []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
	if pid, ok := postmasterPID(other); ok {
		t.Errorf("postmasterPID trusted pid %d working elsewhere", pid)
	}
}

func TestTailFile(t *testing.T) {
	p := t.TempDir() + "/log"
	var b strings.Builder
	for i := range 100 {
		b.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	_ = os.WriteFile(p, []byte(b.String()), 0o644)
	if got := tailFile(p, 2); got != "line 98\nline 99" {
		t.Errorf("tailFile = %q", got)
	}
}
