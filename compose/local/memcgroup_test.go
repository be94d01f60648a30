package local

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseOOMKills(t *testing.T) {
	tests := []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", 3, false},
		{"oom_kill_disable 0\nunder_oom 0\n", 0, true},
		{"oom_kill x\n", 0, true},
	}
	for _, tc := range tests {
		got, err := parseOOMKills(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("parseOOMKills(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestCgroupPrefixIsPerRunDir(t *testing.T) {
	a, b := cgroupPrefix("/tmp/whatif/15400"), cgroupPrefix("/tmp/whatif/15600")
	if a == b {
		t.Fatalf("two run dirs share the cgroup prefix %q", a)
	}
	if a != cgroupPrefix("/tmp/whatif/15400") {
		t.Fatal("the prefix is not stable")
	}
}

// TestJoinCgroupsBeforeExec runs a wrapped command against fake
// cgroup.procs files: the pid written to each is the pid that execs, and
// the command keeps its arguments.
func TestJoinCgroupsBeforeExec(t *testing.T) {
	for _, n := range []int{1, 2} {
		dir := t.TempDir()
		var files []string
		for i := range n {
			files = append(files, filepath.Join(dir, fmt.Sprintf("cg%d.procs", i)))
		}
		spec := joinCgroups(launchSpec{Path: "/bin/sh", Args: []string{"-c", "echo $$ $0", "arg0"}}, files...)
		out, err := exec.Command(spec.Path, spec.Args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		pid, arg, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		if arg != "arg0" {
			t.Errorf("%d cgroups: the command lost its arguments: %q", n, out)
		}
		for _, f := range files {
			joined, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(joined)) != pid {
				t.Errorf("%d cgroups: %s got pid %q, exec'd pid %q", n, filepath.Base(f), joined, pid)
			}
		}
	}
}
