package local

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// TestStateRootChoice covers root and a normal user: the override, RAM
// with and without room, a root that already exists, and a per-user name
// that someone else took.
func TestStateRootChoice(t *testing.T) {
	// The normal user: the test's own uid, or any when the test runs as
	// root (root can make a directory owned by it).
	usr := os.Geteuid()
	if usr == 0 {
		usr = 1000
	}
	perUser := "whatif-" + strconv.Itoa(usr)
	mkdir := func(name string, uid int) func(t *testing.T, ram string) {
		return func(t *testing.T, ram string) {
			d := filepath.Join(ram, name)
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if os.Geteuid() == 0 {
				if err := os.Chown(d, uid, uid); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	planted := func(t *testing.T, ram string) { // a symlink is nobody's root
		if err := os.Symlink(t.TempDir(), filepath.Join(ram, perUser)); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name     string
		uid      int
		override string
		room     bool
		setup    func(t *testing.T, ram string)
		want     string // "ram/..." or "tmp/..." or absolute
	}{
		{"override wins for root", 0, "/srv/x", true, nil, "/srv/x"},
		{"override wins for a user", usr, "/srv/x", true, nil, "/srv/x"},
		{"root, RAM with room", 0, "", true, nil, "ram/whatif"},
		{"root, RAM full", 0, "", false, nil, "tmp/whatif"},
		{"root, RAM full but the root exists", 0, "", false, mkdir("whatif", 0), "ram/whatif"},
		{"user, RAM with room", usr, "", true, nil, "ram/" + perUser},
		{"user, RAM full", usr, "", false, nil, "tmp/" + perUser},
		{"user, RAM full but the root exists", usr, "", false, mkdir(perUser, usr), "ram/" + perUser},
		{"user ignores root's root", usr, "", false, mkdir("whatif", 0), "tmp/" + perUser},
		{"user, the per-user name taken by someone else", usr, "", true, planted, "tmp/" + perUser},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ram, tmp := t.TempDir(), t.TempDir()
			if c.setup != nil {
				c.setup(t, ram)
			}
			in := stateRootIn{uid: c.uid, override: c.override, ram: ram, tmp: tmp,
				hasRoom: func(string) bool { return c.room }}
			want := c.want
			if d, rest, ok := strings.Cut(want, "/"); ok && (d == "ram" || d == "tmp") {
				want = filepath.Join(map[string]string{"ram": ram, "tmp": tmp}[d], rest)
			}
			if got := in.choose(); got != want {
				t.Errorf("choose() = %q, want %q", got, want)
			}
		})
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
