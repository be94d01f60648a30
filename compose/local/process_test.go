package local

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"testing"
)

func TestPGUserFor(t *testing.T) {
	pgu := pgUser{UID: 101, GID: 102}
	found := func() (pgUser, error) { return pgu, nil }
	missing := func() (pgUser, error) { return pgUser{}, errors.New("no postgres user") }
	cases := []struct {
		name    string
		euid    int
		lookup  func() (pgUser, error)
		want    *pgUser
		wantErr bool
	}{
		{"root switches to postgres", 0, found, &pgu, false},
		{"root without a postgres user fails", 0, missing, nil, true},
		{"a normal user stays itself", 1000, found, nil, false},
		{"a normal user needs no postgres user", 1000, missing, nil, false},
	}
	for _, c := range cases {
		got, err := pgUserFor(c.euid, c.lookup)
		if (err != nil) != c.wantErr || (got == nil) != (c.want == nil) || got != nil && *got != *c.want {
			t.Errorf("%s: pgUserFor(%d) = %v, %v; want %v, error %v", c.name, c.euid, got, err, c.want, c.wantErr)
		}
	}
}

func TestPGIdentity(t *testing.T) {
	spec := launchSpec{Svc: "pg0", Dir: "/run/x/pg0", AsPG: true}
	env, cred, err := pgIdentity(spec, &pgUser{UID: 101, GID: 102}, 0)
	if err != nil || cred == nil || cred.Uid != 101 || cred.Gid != 102 || !slices.Contains(env, "USER=postgres") || !slices.Contains(env, "HOME=/run/x/pg0") {
		t.Errorf("as root: env %v, cred %+v, err %v; want a switch to 101:102, USER=postgres, HOME in the service dir", env, cred, err)
	}
	if _, _, err := pgIdentity(spec, nil, 0); err == nil {
		t.Error("root without the postgres user: no error, but Postgres refuses root")
	}
	env, cred, err = pgIdentity(spec, nil, 4242)
	name := "4242" // no such user here: the uid stands in
	if u, uerr := user.LookupId("4242"); uerr == nil {
		name = u.Username
	}
	if err != nil || cred != nil || !slices.Contains(env, "HOME=/run/x/pg0") || !slices.Contains(env, "USER="+name) {
		t.Errorf("as a normal user: env %v, cred %+v, err %v; want no switch, USER=%s, HOME in the service dir", env, cred, err, name)
	}
}

// TestPostgresRootsSparesOtherProcesses: a process working in RunDir that
// is not a Postgres of the stack (a user's shell, here sleep) is never
// taken, whether the runner is root (postgres' uid differs) or not (the
// uid matches, the binary does not).
func TestPostgresRootsSparesOtherProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sleep", "300")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	tab, err := scanProcs()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tab.cwdUnder(dir), cmd.Process.Pid) {
		t.Fatalf("cwdUnder(%s) misses pid %d", dir, cmd.Process.Pid)
	}
	if got := postgresRoots(tab, dir); slices.Contains(got, cmd.Process.Pid) {
		t.Errorf("postgresRoots took pid %d (sleep in %s, uid %s)", cmd.Process.Pid, dir, strconv.Itoa(os.Geteuid()))
	}
	if isPGBinary(cmd.Process.Pid) {
		t.Errorf("isPGBinary(sleep) = true")
	}
}
