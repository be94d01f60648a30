package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/config"
)

// flags are the command line of the api binary; the stack supervisor passes
// them, so their names are a contract.
type flags struct {
	listen         string
	redis          string
	redisCluster   string
	hotKeyRate     int
	hotKeyCopies   int
	pgPrimary      string
	pgReplica      string
	pgDirect       string
	pgBouncer      string
	broker         string
	dbPool         int
	reportPool     int
	replicaLife    time.Duration
	checkoutConns  int
	checkoutSlots  int
	shedWaitLow    time.Duration
	shedWaitHigh   time.Duration
	clientRate     float64
	clientBurst    int
	redisPool      int
	items          int
	l1Size         int
	protections    string
	adminToken     string
	startupTimeout time.Duration
	stateFile      string
	exportCap      int64
	exportCache    int64
	checkoutWork   int
	knobs          knob.Values // runtime-adjustable durations, see settings.go
}

func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.listen, "listen", "", "HTTP listen address HOST:PORT (required)")
	fs.StringVar(&f.redis, "redis", "", "Redis address HOST:PORT (required)")
	fs.StringVar(&f.redisCluster, "redis-cluster", "", "Redis Cluster nodes name=HOST:PORT,... (each node's announced address, its Toxiproxy link) for GET /products")
	fs.IntVar(&f.hotKeyRate, "hot-key-rate", 20, "a product read this many times within a second is a hot key")
	fs.IntVar(&f.hotKeyCopies, "hot-key-copies", 2, "hot_key_replicas: copies of a hot key on each cluster master")
	fs.StringVar(&f.pgPrimary, "pg-primary", "", "Postgres primary DSN: writes, and reads unless replica_reads (required)")
	fs.StringVar(&f.pgReplica, "pg-replica", "", "Postgres replica DSN for reads when replica_reads is on")
	fs.StringVar(&f.pgDirect, "pg-direct", "", "Postgres DSN straight to the hosts (multi-host, target_session_attrs=read-write), used for writes when db_proxy is off")
	fs.StringVar(&f.pgBouncer, "pgbouncer", "", "PgBouncer DSN (transaction mode) for checkouts when db_pooler is on")
	fs.StringVar(&f.broker, "broker", "", "Kafka broker HOST:PORT: queue_writes enqueues checkouts there")
	fs.IntVar(&f.checkoutWork, "checkout-workers", 0, "consumers applying queued checkouts in this process (needs --broker; 0 = none)")
	fs.IntVar(&f.dbPool, "db-pool", 4, "max connections per Postgres pool")
	fs.IntVar(&f.reportPool, "report-pool", 2, "max connections of the report pool on the replica (used when heavy_isolation is on)")
	fs.DurationVar(&f.replicaLife, "replica-conn-lifetime", 0, "close each pooled read connection after about this long (0 = never), so reads follow the load balancer to the current replica after a failover")
	fs.IntVar(&f.checkoutConns, "checkout-conns", 150, "most connections each checkout pool opens; without db_pooler each is a Postgres backend, and 150 is more than the stack's max_connections (100)")
	fs.IntVar(&f.checkoutSlots, "checkout-slots", 6, "priority_shed: checkouts working in the database at a time; the rest wait, high priority first")
	fs.DurationVar(&f.shedWaitLow, "shed-wait-low", 250*time.Millisecond, "priority_shed: a low-priority checkout waiting this long for a slot is shed (503)")
	fs.DurationVar(&f.shedWaitHigh, "shed-wait-high", time.Second, "priority_shed: a high-priority checkout waiting this long for a slot is shed (503)")
	fs.Float64Var(&f.clientRate, "client-rate", 15, "rate_limit: requests per second allowed per X-Client-ID")
	fs.IntVar(&f.clientBurst, "client-burst", 15, "rate_limit: burst allowed per X-Client-ID")
	fs.IntVar(&f.redisPool, "redis-pool", 128, "max Redis connections")
	fs.IntVar(&f.items, "items", 100000, "rows seeded into items at startup when the table is empty")
	fs.IntVar(&f.l1Size, "l1-size", 10000, "max entries in the in-process L1 cache")
	fs.StringVar(&f.protections, "protections", "all", `initial protections: "all", "none" or a comma list of `+joinNames())
	fs.StringVar(&f.adminToken, "admin-token", "", "bearer token that allows admin endpoints from non-loopback peers")
	fs.StringVar(&f.stateFile, "state-file", "", "keep protections and settings in this file across restarts (loaded at start, saved on every change)")
	fs.Int64Var(&f.exportCap, "export-cap", 1<<20, "payload_cap: largest export built, in bytes; larger ones get 413")
	fs.Int64Var(&f.exportCache, "export-cache", 32<<20, "cache_bound: most bytes the export cache holds")
	fs.DurationVar(&f.startupTimeout, "startup-timeout", 30*time.Second, "keep retrying Postgres and Redis at startup this long")
	knobValues := knob.All.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return f, err // flag has printed the problem and the usage
	}
	f.knobs = knobValues()
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q: all options are --flags", fs.Args())
	}
	return f, f.validate()
}

func (f flags) validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if f.listen == "" {
		add(config.Required("--listen", f.listen))
	} else {
		add(config.ListenAddr("--listen", f.listen))
	}
	if f.redis == "" {
		add(config.Required("--redis", f.redis))
	} else {
		add(config.HostPort("--redis", f.redis))
	}
	if f.redisCluster != "" {
		_, err := parseClusterSeeds(f.redisCluster)
		add(err)
	}
	add(config.IntRange("--hot-key-rate", f.hotKeyRate, 1, 1_000_000))
	add(config.IntRange("--hot-key-copies", f.hotKeyCopies, 1, 100))
	if f.pgPrimary == "" {
		add(config.Required("--pg-primary", f.pgPrimary))
	} else {
		add(config.DSN("--pg-primary", f.pgPrimary))
	}
	if f.pgReplica != "" {
		add(config.DSN("--pg-replica", f.pgReplica))
	}
	if f.pgDirect != "" {
		add(config.DSN("--pg-direct", f.pgDirect))
	}
	if f.pgBouncer != "" {
		add(config.DSN("--pgbouncer", f.pgBouncer))
	}
	if f.broker != "" {
		add(config.HostPort("--broker", f.broker))
	}
	add(config.IntRange("--db-pool", f.dbPool, 1, 1000))
	add(config.IntRange("--report-pool", f.reportPool, 1, 1000))
	add(config.DurationRange("--replica-conn-lifetime", f.replicaLife, 0, time.Hour))
	add(config.IntRange("--checkout-conns", f.checkoutConns, 1, 100000))
	add(config.IntRange("--checkout-slots", f.checkoutSlots, 1, 10_000))
	for _, w := range []struct {
		name string
		d    time.Duration
	}{{"--shed-wait-low", f.shedWaitLow}, {"--shed-wait-high", f.shedWaitHigh}} {
		if w.d < 0 || w.d > time.Minute {
			add(fmt.Errorf("%s %v: want a duration in [0, 1m]", w.name, w.d))
		}
	}
	if f.shedWaitLow > f.shedWaitHigh {
		add(fmt.Errorf("--shed-wait-low %v above --shed-wait-high %v: low priority would wait longer than high", f.shedWaitLow, f.shedWaitHigh))
	}
	if !(f.clientRate > 0) || f.clientRate > 1e6 {
		add(fmt.Errorf("--client-rate %v: want a rate in (0, 1e6] requests per second", f.clientRate))
	}
	add(config.IntRange("--client-burst", f.clientBurst, 1, 1_000_000))
	add(config.IntRange("--redis-pool", f.redisPool, 1, 10000))
	add(config.IntRange("--checkout-workers", f.checkoutWork, 0, 64))
	if f.checkoutWork > 0 && f.broker == "" {
		add(fmt.Errorf("--checkout-workers %d needs --broker", f.checkoutWork))
	}
	add(config.IntRange("--items", f.items, 1, 100_000_000))
	add(config.IntRange("--l1-size", f.l1Size, 1, 10_000_000))
	if f.exportCap < 1<<10 || f.exportCap > maxExportKB<<10 {
		add(fmt.Errorf("--export-cap %d: want bytes in [1024, %d]", f.exportCap, int64(maxExportKB)<<10))
	}
	if f.exportCache < 1<<20 || f.exportCache > 1<<40 {
		add(fmt.Errorf("--export-cache %d: want bytes in [1 MiB, 1 TiB]", f.exportCache))
	}
	add(config.DurationRange("--startup-timeout", f.startupTimeout, 100*time.Millisecond, time.Hour))
	add(knob.All.CheckFlags(f.knobs))
	if _, err := newProtections(f.protections); err != nil {
		add(fmt.Errorf("--protections: %w", err))
	}
	return errors.Join(errs...)
}
