package local

import (
	"fmt"
	"io"
	"path/filepath"
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

// PatroniTimers are Patroni's DCS timers (compose.PatroniTimers).
type PatroniTimers = compose.PatroniTimers

// DefaultPatroniTimers are the timers used when Config.Patroni is zero.
var DefaultPatroniTimers = compose.DefaultPatroniTimers

// Paths of the Debian packages this backend runs.
const (
	pgBinDir       = compose.PGBinDir
	apiBinary      = "whatif-api"
	brokerBinary   = "whatif-broker"
	workerBinary   = "whatif-worker"
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
	if err := c.Patroni.Validate(); err != nil {
		return c, fmt.Errorf("local: %w", err)
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
