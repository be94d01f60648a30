package local

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/compose"
)

// Config says what to run and where.
type Config struct {
	Topology compose.Topology // ports for everything; zero value = compose.Default(0)
	// RunDir holds every data dir, config, log and pid file of this stack and
	// is removed on Stop. Default: DefaultRunDir(Topology.Base).
	RunDir  string
	BinDir  string   // where whatif-api and whatif-broker live
	APIArgs []string // extra flags appended to the api command line
	// Only is an optional subset of services to start; what they depend on
	// is added. nil = all. Toxiproxy always runs: every link goes through it.
	Only []string
	Logs io.Writer // optional copy of every service log line, prefixed with the service name

	Patroni PatroniTimers
	// StartTimeout bounds Start (when ctx has no earlier deadline) and each
	// Controller.Start. Default 60 s.
	StartTimeout time.Duration
}

// PatroniTimers are Patroni's DCS timers, in seconds. Patroni requires
// LoopWait + 2*RetryTimeout <= TTL. Measured here: at 5/1/2 a killed leader
// is replaced in about 4.8 s; RetryTimeout 1 breaks failover.
type PatroniTimers struct {
	TTL, LoopWait, RetryTimeout int
}

// DefaultPatroniTimers are the timers used when Config.Patroni is zero.
var DefaultPatroniTimers = PatroniTimers{TTL: 5, LoopWait: 1, RetryTimeout: 2}

// Paths of the Debian packages this backend runs.
const (
	pgBinDir       = "/usr/lib/postgresql/15/bin"
	apiBinary      = "whatif-api"
	brokerBinary   = "whatif-broker"
	defaultTimeout = 60 * time.Second
)

// withDefaults fills zero fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Topology.Base == 0 && len(c.Topology.Services) == 0 {
		c.Topology = compose.Default(0)
	}
	if c.RunDir == "" {
		c.RunDir = DefaultRunDir(c.Topology.Base)
	}
	abs, err := filepath.Abs(c.RunDir)
	if err != nil {
		return c, err
	}
	c.RunDir = abs
	// Paths end up unquoted in postgres, pgbouncer and haproxy configs.
	if strings.ContainsAny(c.RunDir, " \t\n'\"\\#;") {
		return c, fmt.Errorf("local: RunDir %q must not contain spaces, quotes, '#' or ';'", c.RunDir)
	}
	if c.RunDir == "/" || c.RunDir == filepath.Dir(c.RunDir) {
		return c, fmt.Errorf("local: RunDir %q is a filesystem root", c.RunDir)
	}
	if c.Patroni == (PatroniTimers{}) {
		c.Patroni = DefaultPatroniTimers
	}
	if t := c.Patroni; t.TTL <= 0 || t.LoopWait <= 0 || t.RetryTimeout <= 0 || t.LoopWait+2*t.RetryTimeout > t.TTL {
		return c, fmt.Errorf("local: Patroni timers %+v: need positive values with LoopWait+2*RetryTimeout <= TTL", t)
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = defaultTimeout
	}
	if c.BinDir != "" {
		if c.BinDir, err = filepath.Abs(c.BinDir); err != nil {
			return c, err
		}
	}
	return c, nil
}

// serviceDeps is who needs whom running. Toxiproxy is implicit.
var serviceDeps = map[string][]string{
	compose.SvcEtcd:      nil,
	compose.SvcRedis:     nil,
	compose.SvcBroker:    nil,
	compose.SvcPG0:       {compose.SvcEtcd},
	compose.SvcPG1:       {compose.SvcEtcd},
	compose.SvcHAProxy:   {compose.SvcPG0, compose.SvcPG1},
	compose.SvcPgBouncer: {compose.SvcHAProxy},
	compose.SvcAPI:       {compose.SvcRedis, compose.SvcHAProxy, compose.SvcPgBouncer, compose.SvcBroker, compose.SvcRC0, compose.SvcRC1, compose.SvcRC2},
	// a cluster node alone never reaches cluster_state:ok
	compose.SvcRC0:  {compose.SvcRC1, compose.SvcRC2},
	compose.SvcRC1:  {compose.SvcRC0, compose.SvcRC2},
	compose.SvcRC2:  {compose.SvcRC0, compose.SvcRC1},
	compose.SvcApp0: {compose.SvcAPI},
	compose.SvcApp1: {compose.SvcAPI},
}

// launchAfter lists what must be healthy before a service is launched.
// Everything else starts at once and simply polls its own health: Patroni
// waits for etcd by itself, HAProxy and PgBouncer only need their backends
// when a client connects. The api seeds its database at start, so it waits.
var launchAfter = map[string][]string{
	compose.SvcAPI: {compose.SvcRedis, compose.SvcBroker, compose.SvcPgBouncer, compose.SvcHAProxy,
		compose.SvcRC0, compose.SvcRC1, compose.SvcRC2},
	// app instances run the same start-up migration: after the api's, so
	// three processes never race to create the schema
	compose.SvcApp0: {compose.SvcAPI},
	compose.SvcApp1: {compose.SvcAPI},
}

// upstreamFirst orders services so that, when several fail together (a
// dead dependency times out its dependents), the root cause is reported.
var upstreamFirst = []string{
	compose.SvcEtcd, compose.SvcPG0, compose.SvcPG1, compose.SvcHAProxy,
	compose.SvcPgBouncer, compose.SvcRedis, compose.SvcRC0, compose.SvcRC1, compose.SvcRC2,
	compose.SvcBroker, compose.SvcAPI,
	compose.SvcApp0, compose.SvcApp1,
}

// selectServices expands only with dependencies (nil = every service of the
// topology this backend knows) and returns the names sorted.
func selectServices(topo compose.Topology, only []string) ([]string, error) {
	known := map[string]bool{}
	for _, n := range topo.ServiceNames() {
		if _, ok := serviceDeps[n]; ok {
			known[n] = true
		}
	}
	want := map[string]bool{}
	var add func(string) error
	add = func(n string) error {
		if n == compose.SvcToxiproxy {
			return nil // always embedded
		}
		if !known[n] {
			return fmt.Errorf("local: unknown service %q (known: %s)", n, strings.Join(sortedKeys(known), ", "))
		}
		if want[n] {
			return nil
		}
		want[n] = true
		for _, d := range serviceDeps[n] {
			if err := add(d); err != nil {
				return err
			}
		}
		return nil
	}
	if only == nil {
		for n := range known {
			_ = add(n)
		}
	}
	for _, n := range only {
		if err := add(n); err != nil {
			return nil, err
		}
	}
	return sortedKeys(want), nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
