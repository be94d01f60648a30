package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/services/internal/config"
	"github.com/whatif-lab/whatif/services/internal/knobs"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

// flags are the command line of the worker binary; the stack supervisor
// passes them, so their names are a contract.
type flags struct {
	listen      string
	broker      string
	redis       string
	etcd        []string
	name        string
	pg          string
	pipeline    string
	topic       string
	partitions  int
	members     int
	encoders    int
	protections string
	adminToken  string
	standby     bool
	startup     time.Duration
	knobs       knobs.Values
}

// maxPartitions bounds --partitions: members beyond the partition count
// idle, and a group of hundreds of clients is not what a 2-core box runs.
const maxPartitions = 64

var (
	topicName   = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,200}$`)
	processName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
)

func parseFlags(args []string, out io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&f.listen, "listen", "", "admin HTTP listen address HOST:PORT (required)")
	fs.StringVar(&f.broker, "broker", "", "Kafka broker HOST:PORT (required by a pipeline with a topic)")
	fs.StringVar(&f.redis, "redis", "", "Redis HOST:PORT (required by the booking pipeline: its seat locks)")
	fs.StringVar(&f.pg, "pg", "", "Postgres DSN the pipeline writes to (required)")
	fs.StringVar(&f.pipeline, "pipeline", pipelineEvents, "the work this pool does: "+strings.Join(pipelineNames(), ", "))
	fs.StringVar(&f.topic, "topic", "", "topic consumed (default: the pipeline's own)")
	fs.IntVar(&f.partitions, "partitions", 6, "partitions of the topic when the worker creates it; members beyond them idle")
	fs.IntVar(&f.members, "members", 1, "members each consumer group starts with")
	fs.IntVar(&f.encoders, "encoders", 2, "encoders a gated pipeline (encode) starts with, and after each reset; autoscale adds more")
	etcdList := fs.String("etcd", "", "etcd members HOST:PORT,... (the booking pipeline: seat locks in etcd instead of Redis)")
	fs.StringVar(&f.name, "name", "", "this process's name in the booking ledger (default: pid<pid>)")
	fs.StringVar(&f.protections, "protections", "all", `initial protections: "all", "none" or a comma list of the pipeline's (`+pipelineProtections()+`)`)
	fs.StringVar(&f.adminToken, "admin-token", "", "bearer token that allows admin endpoints from non-loopback peers")
	fs.BoolVar(&f.standby, "standby", false, "the cdc pipeline: this connector streams only with standby_connector on, taking the slot over when the other's session ends")
	fs.DurationVar(&f.startup, "startup-timeout", 30*time.Second, "keep retrying the broker and Postgres at startup this long")
	knobValues := knob.All.Flags(fs)
	if err := fs.Parse(args); err != nil {
		return f, err // flag has printed the problem and the usage
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q: all options are --flags", fs.Args())
	}
	f.knobs = knobValues()
	if *etcdList != "" {
		f.etcd = strings.Split(*etcdList, ",")
	}
	if f.topic == "" {
		if p, ok := pipelines[f.pipeline]; ok {
			f.topic = p.topic
		}
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
	p, known := pipelines[f.pipeline]
	switch {
	case f.broker != "":
		add(config.HostPort("--broker", f.broker))
	case !known || p.topic != "":
		add(config.Required("--broker", f.broker))
	}
	if f.redis != "" {
		add(config.HostPort("--redis", f.redis))
	}
	for _, m := range f.etcd {
		add(config.HostPort("--etcd", m))
	}
	switch {
	case known && p.locks && f.redis == "" && len(f.etcd) == 0:
		add(fmt.Errorf("--redis or --etcd: the %s pipeline needs one for its locks", f.pipeline))
	case f.redis != "" && len(f.etcd) > 0:
		add(fmt.Errorf("--redis and --etcd: one lock service, not both"))
	case len(f.etcd) > 0 && (!known || !p.locks):
		add(fmt.Errorf("--etcd: only the booking pipeline takes locks"))
	}
	if f.pg == "" {
		add(config.Required("--pg", f.pg))
	} else {
		add(config.DSN("--pg", f.pg))
	}
	if !known {
		add(fmt.Errorf("--pipeline %q: want one of %s", f.pipeline, strings.Join(pipelineNames(), ", ")))
	}
	if known && p.topic == "" && f.topic != "" {
		add(fmt.Errorf("--topic %q: the %s pipeline reads no topic", f.topic, f.pipeline))
	}
	if ((known && p.topic != "") || f.topic != "") && !topicName.MatchString(f.topic) {
		add(fmt.Errorf("--topic %q: want 1-200 letters, digits, '.', '_' or '-'", f.topic))
	}
	add(config.IntRange("--partitions", f.partitions, 1, maxPartitions))
	add(config.IntRange("--members", f.members, 0, maxPartitions))
	add(config.IntRange("--encoders", f.encoders, 1, maxPartitions))
	if known {
		if _, err := newProtections(p.protections).Parse(f.protections); err != nil {
			add(fmt.Errorf("--protections: %w", err))
		}
	}
	if f.standby && f.pipeline != pipelineCDC {
		add(fmt.Errorf("--standby: only the %s pipeline has a standby", pipelineCDC))
	}
	if f.name != "" && !processName.MatchString(f.name) {
		add(fmt.Errorf("--name %q: want 1-64 letters, digits, '_' or '-'", f.name))
	}
	add(config.DurationRange("--startup-timeout", f.startup, time.Second, time.Hour))
	add(knob.All.CheckFlags(f.knobs))
	return errors.Join(errs...)
}
