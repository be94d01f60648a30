package local

import (
	"path/filepath"
	"testing"
)

func TestDefaultStateRootHonoursTheEnvironment(t *testing.T) {
	t.Setenv(StateRootEnv, "/srv/whatif-state")
	if got := DefaultStateRoot(); got != "/srv/whatif-state" {
		t.Fatalf("DefaultStateRoot() = %q with %s set, want its value", got, StateRootEnv)
	}
	if got := DefaultRunDir(15400); got != filepath.Join("/srv/whatif-state", "15400") {
		t.Fatalf("DefaultRunDir(15400) = %q", got)
	}
}

func TestRAMHasRoom(t *testing.T) {
	cases := []struct {
		name string
		dir  string
		need uint64
	}{
		{"a directory that does not exist", "/nonexistent-whatif-dir", 0},
		{"more room than any machine has", ramRoot, 1 << 62},
		{"not a tmpfs", "/proc", 0},
	}
	for _, c := range cases {
		if ramHasRoom(c.dir, c.need) {
			t.Errorf("%s: ramHasRoom(%q, %d) = true, want false", c.name, c.dir, c.need)
		}
	}
}
