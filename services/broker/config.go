package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// config is the broker's command line.
type config struct {
	listen          string
	advertise       string // defaults to the listen address
	dataDir         string
	partitions      int
	topics          []string
	retentionCheck  time.Duration
	retention       time.Duration
	groupMinSession time.Duration
	autoCreate      bool
	logLevel        kfake.LogLevel
}

// maxPartitions bounds --partitions: kfake makes all of a topic's
// partitions at once, so 100000000 would exhaust memory, and a count above
// MaxInt32 wraps in the int32 start passes to kfake.
const maxPartitions = 1000

func parseFlags(args []string, out io.Writer) (config, error) {
	var (
		cfg      config
		topics   string
		logLevel string
	)
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&cfg.listen, "listen", "", "host:port to listen on (required)")
	fs.StringVar(&cfg.advertise, "advertise", "", "host:port clients must dial, reported in metadata: the proxy in front of the broker (default: the listen address)")
	fs.StringVar(&cfg.dataDir, "data-dir", "", "directory where topics, offsets and records survive restarts (default: memory only)")
	fs.IntVar(&cfg.partitions, "partitions", 3, "partitions of seeded and auto-created topics")
	fs.StringVar(&topics, "topics", "", "comma-separated topics to create at first start")
	fs.DurationVar(&cfg.retentionCheck, "retention-check", time.Second, "how often retention and compaction run (0: kfake's default, hourly)")
	fs.DurationVar(&cfg.retention, "retention", 0, "broker-wide log.retention.ms (0: kfake's default, 7 days)")
	fs.DurationVar(&cfg.groupMinSession, "group-min-session-timeout", 100*time.Millisecond, "shortest consumer-group session timeout clients may ask for (Kafka's default is 6s)")
	fs.BoolVar(&cfg.autoCreate, "auto-create", true, "create unknown topics on metadata requests, like auto.create.topics.enable")
	fs.StringVar(&logLevel, "log-level", "error", "kfake log level on stderr: none, error, warn, info, debug")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, usageError(fs, "unexpected arguments %q", fs.Args())
	}
	if err := checkHostPort(cfg.listen, true); err != nil {
		return cfg, usageError(fs, "--listen: %v", err)
	}
	if cfg.advertise != "" {
		if err := checkHostPort(cfg.advertise, false); err != nil {
			return cfg, usageError(fs, "--advertise: %v", err)
		}
	}
	if cfg.partitions < 1 || cfg.partitions > maxPartitions {
		return cfg, usageError(fs, "--partitions %d: must be in 1..%d", cfg.partitions, maxPartitions)
	}
	for _, t := range strings.Split(topics, ",") {
		if t = strings.TrimSpace(t); t != "" {
			cfg.topics = append(cfg.topics, t)
		}
	}
	if cfg.retentionCheck < 0 || cfg.retention < 0 || cfg.groupMinSession < 0 {
		return cfg, usageError(fs, "durations must not be negative")
	}
	levels := map[string]kfake.LogLevel{
		"none": kfake.LogLevelNone, "error": kfake.LogLevelError, "warn": kfake.LogLevelWarn,
		"info": kfake.LogLevelInfo, "debug": kfake.LogLevelDebug,
	}
	lvl, ok := levels[logLevel]
	if !ok {
		return cfg, usageError(fs, "--log-level %q: want none, error, warn, info or debug", logLevel)
	}
	cfg.logLevel = lvl
	return cfg, nil
}

// checkHostPort accepts host:port; port 0 only where we listen (the kernel
// picks one), never in an address we hand to clients.
func checkHostPort(s string, listen bool) error {
	if s == "" {
		return errString("required")
	}
	_, p, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !listen) {
		return errString("bad port " + strconv.Quote(p))
	}
	return nil
}

// usageError marks a bad command line.
func usageError(fs *flag.FlagSet, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	fmt.Fprintln(fs.Output(), "broker:", err)
	fs.Usage()
	return err
}

type errString string

func (e errString) Error() string { return string(e) }
