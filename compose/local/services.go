package local

import (
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/compose"
)

// service is one supervised component of the stack.
type service struct {
	name  string
	dir   string // working and data directory inside RunDir
	spec  launchSpec
	setup func() error // writes configs; run before the first launch
	// health is the readiness check of Start and Controller.Start; detail
	// describes the state (e.g. the Patroni role).
	health func(ctx context.Context) (detail string, err error)

	readyAfter time.Duration // from Start's call until healthy

	mu      sync.Mutex // serialises Controller calls and launches
	proc    *proc      // current main process (nil before the first launch)
	started bool       // setup has run
	ready   chan struct{}

	// memLimit > 0 runs the service in its own memory cgroup (memcgroup.go).
	memLimit int64
	cg       *memCgroup
	cgTried  bool
	// cpu is the service's cpu cgroup once a CPU weight was set
	// (cpucgroup.go); later launches join it too.
	cpu *cpuCgroup
	// restart relaunches the service when it dies on its own (Docker's
	// "unless-stopped"); a service killed through the Controller stays
	// down until Controller.Start.
	restart  bool
	held     bool          // killed through the Controller
	restarts int           // relaunches by the restart policy
	backoff  time.Duration // the last restart delay
}

// selector finds every process of the service: the main process and its
// descendants, plus for postgres-run services the postmaster and any
// postgres process working inside the service directory.
func (sv *service) selector() selector {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.selectorLocked()
}

// selectorLocked is selector with sv.mu held.
func (sv *service) selectorLocked() selector {
	p := sv.proc
	return func(t procTable) []int {
		var roots []int
		if p != nil && !p.exited() {
			if info, ok := t[p.ref.PID]; ok && info.Start == p.ref.Start {
				roots = append(roots, p.ref.PID)
			}
		}
		if sv.spec.AsPG {
			roots = append(roots, postgresRoots(t, sv.dir)...)
		}
		return t.descendants(roots)
	}
}

// lookBin finds a Debian binary; root's PATH may miss /usr/sbin.
func lookBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or /usr/sbin (Debian package missing?)", name)
}

// writeOwned writes a config file; for postgres-run services the file
// belongs to postgres so the service can read it.
func writeOwned(path string, data []byte, pg *pgUser) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	if pg != nil {
		return os.Chown(path, int(pg.UID), int(pg.GID))
	}
	return nil
}

// mkServiceDir creates a service directory, 0700 and owned by postgres for
// postgres-run services (Postgres insists on that for its data dir).
func mkServiceDir(dir string, pg *pgUser) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if pg != nil {
		return os.Chown(dir, int(pg.UID), int(pg.GID))
	}
	return nil
}

// buildServices describes the selected services of cfg from their specs.
func buildServices(cfg Config, names []string, pg *pgUser) (map[string]*service, error) {
	topo := cfg.Topology
	a, err := newAddressing(cfg, names)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	out := map[string]*service{}
	for _, name := range names {
		if name == compose.SvcToxiproxy {
			continue // embedded in the runner
		}
		sp := topo.Service(name).Spec
		dir := a.Dir(name)
		sv := &service{name: name, dir: dir, ready: make(chan struct{}), memLimit: sp.MemLimit, restart: sp.Restart}
		argv := sp.Command(a)
		sv.spec = launchSpec{Svc: name, Dir: dir, Args: argv[1:], AsPG: sp.AsPostgres}
		if sp.Image == compose.ImageAPI {
			sv.spec.Args = append(sv.spec.Args, cfg.APIArgs...)
		}
		var err error
		if strings.HasPrefix(argv[0], "whatif-") {
			sv.spec.Path, err = ourBinary(cfg.BinDir, argv[0])
		} else {
			sv.spec.Path, err = lookBin(argv[0])
		}
		owner := (*pgUser)(nil)
		if sp.AsPostgres {
			owner = pg
		}
		var files map[string]string
		if sp.Files != nil {
			files = sp.Files(a)
		}
		sv.setup = func() error {
			if err := mkServiceDir(dir, owner); err != nil {
				return err
			}
			for _, f := range slices.Sorted(maps.Keys(files)) {
				if err := writeOwned(compose.ConfigFile(a, name, f), []byte(files[f]), owner); err != nil {
					return err
				}
			}
			return nil
		}
		if err == nil {
			// The same readiness checks as the compose backend (Probe).
			sv.health, err = Probe(topo, name)
		}
		if err == nil && sp.Health.Kind == compose.HealthCluster {
			sv.health = formingCluster(topo, name, sv.health)
		}
		if err != nil {
			return nil, fmt.Errorf("local: %s: %w", name, err)
		}
		out[name] = sv
	}
	return out, nil
}

// ourBinary locates one of the project's own binaries in BinDir.
func ourBinary(binDir, name string) (string, error) {
	if binDir == "" {
		return "", fmt.Errorf("%s needs Config.BinDir (the directory holding %s, built by `make`)", name, name)
	}
	p := filepath.Join(binDir, name)
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is missing or not executable: build it first (make, or go build -o %s ./services/%s)",
			p, p, strings.TrimPrefix(name, "whatif-"))
	}
	return p, nil
}
