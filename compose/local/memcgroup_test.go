package local

import (
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

// TestWrapJoinsBeforeExec runs a wrapped command against a fake
// cgroup.procs: the pid written is the pid that execs.
func TestWrapJoinsBeforeExec(t *testing.T) {
	dir := t.TempDir()
	c := &memCgroup{dir: dir}
	spec := c.wrap(launchSpec{Path: "/bin/sh", Args: []string{"-c", "echo $$"}})
	out, err := exec.Command(spec.Path, spec.Args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	joined, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(joined)) != strings.TrimSpace(string(out)) {
		t.Errorf("joined pid %q, exec'd pid %q", joined, out)
	}
}
