package local

import (
	"path/filepath"

	"github.com/whatif-lab/whatif/compose"
)

// addressing is compose.Addressing for processes on loopback: every
// service binds 127.0.0.1 at its topology port and keeps its files in its
// directory inside RunDir.
type addressing struct {
	topo      compose.Topology
	runDir    string
	runs      map[string]bool
	timers    compose.PatroniTimers
	flock, cp string // for the Patroni nodes' template copy
}

func newAddressing(cfg Config, names []string) (*addressing, error) {
	a := &addressing{topo: cfg.Topology, runDir: cfg.RunDir, runs: map[string]bool{}, timers: cfg.Patroni}
	for _, n := range names {
		a.runs[n] = true
	}
	if a.runs[compose.SvcPG0] || a.runs[compose.SvcPG1] {
		var err error
		if a.flock, err = lookBin("flock"); err != nil {
			return nil, err
		}
		if a.cp, err = lookBin("cp"); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func addr(port int) string { return compose.Addr(port) }

func (a *addressing) Backend() compose.Backend { return compose.Local }
func (a *addressing) Base() int                { return a.topo.Base }
func (a *addressing) Listen(svc, port string) string {
	return addr(a.topo.Service(svc).Port(port))
}
func (a *addressing) Reach(svc, port string) string { return a.Listen(svc, port) }
func (a *addressing) Host(string) string            { return "127.0.0.1" }
func (a *addressing) Link(name string) string       { return a.topo.LinkAddr(name) }
func (a *addressing) Dir(svc string) string         { return filepath.Join(a.runDir, svc) }
func (a *addressing) ConfigDir(svc string) string   { return a.Dir(svc) }
func (a *addressing) Runs(svc string) bool          { return a.runs[svc] }

func (a *addressing) PatroniTimers() compose.PatroniTimers { return a.timers }

// PatroniBootstrap: a copy of the template that Start initialises
// meanwhile (template.go), not an initdb per node.
func (a *addressing) PatroniBootstrap(node string) map[string]any {
	return map[string]any{
		"method":   "template",
		"template": map[string]any{"command": bootstrapCommand(a.flock, a.cp, a.runDir, a.Dir(node)), "no_params": true},
	}
}

var _ compose.PatroniBackend = (*addressing)(nil)
