package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// errUsage marks a command line the flag package already complained about.
var errUsage = errors.New("bad usage")

type config struct {
	server     string
	sections   string
	conns      int
	timeout    time.Duration
	step       time.Duration
	searchTime time.Duration
	startRate  int
	maxRate    int
	cpuRate    int
	cpuTime    time.Duration
	coRate     int
	coTime     time.Duration
	coStall    time.Duration
	coStallAt  time.Duration
	coConns    int
	coWorkers  int
	cpuProfile string
}

func parseFlags(args []string, errOut io.Writer) (config, bool, error) {
	var c config
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(errOut)
	serveMode := fs.Bool("serve", false, "internal: run as the target server child")
	fs.StringVar(&c.server, "server", "process", "where the target server runs: process (child; CPU numbers exclude it) or inproc")
	fs.StringVar(&c.sections, "sections", "123", "which sections to run: 1 max rate, 2 CPU per request, 3 coordinated omission")
	fs.IntVar(&c.conns, "conns", 512, "in-flight bound (workers and connections) for sections 1 and 2, both generators")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Second, "per-request timeout in sections 1 and 2")
	fs.DurationVar(&c.step, "step", 2*time.Second, "duration of each max-rate search step")
	fs.DurationVar(&c.searchTime, "search-time", 50*time.Second, "time budget of the max-rate search, both generators together")
	fs.IntVar(&c.startRate, "start-rate", 2000, "first rate of the max-rate search (req/s)")
	fs.IntVar(&c.maxRate, "max-rate", 500000, "ceiling of the max-rate search (req/s)")
	fs.IntVar(&c.cpuRate, "cpu-rate", 2000, "rate of the CPU-per-request runs (req/s)")
	fs.DurationVar(&c.cpuTime, "cpu-time", 5*time.Second, "duration of each CPU-per-request run")
	fs.IntVar(&c.coRate, "co-rate", 1000, "rate of the coordinated-omission runs (req/s)")
	fs.DurationVar(&c.coTime, "co-time", 10*time.Second, "duration of each coordinated-omission run")
	fs.DurationVar(&c.coStall, "co-stall", 2*time.Second, "how long the server stalls")
	fs.DurationVar(&c.coStallAt, "co-stall-at", 4*time.Second, "when the stall starts, from the start of the run")
	fs.IntVar(&c.coConns, "co-conns", 0, "in-flight bound for the open-loop rows of section 3 (0 = 1.5 x rate x stall)")
	fs.IntVar(&c.coWorkers, "co-workers", 0, "vegeta's bounded max-workers row in section 3 (0 = -conns)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole bench to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, false, err
		}
		return c, false, errUsage
	}
	if fs.NArg() > 0 {
		return c, false, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if *serveMode {
		return c, true, nil
	}
	if c.coConns == 0 {
		c.coConns = int(1.5 * float64(c.coRate) * c.coStall.Seconds())
	}
	if c.coWorkers == 0 {
		c.coWorkers = c.conns
	}
	return c, false, c.validate()
}

func (c config) validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"-timeout", c.timeout}, {"-step", c.step}, {"-search-time", c.searchTime}, {"-cpu-time", c.cpuTime},
		{"-co-time", c.coTime}, {"-co-stall", c.coStall}} {
		if d.v <= 0 {
			bad("%s must be > 0, got %v", d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"-conns", c.conns}, {"-start-rate", c.startRate}, {"-max-rate", c.maxRate}, {"-cpu-rate", c.cpuRate},
		{"-co-rate", c.coRate}, {"-co-conns", c.coConns}, {"-co-workers", c.coWorkers}} {
		if n.v <= 0 {
			bad("%s must be > 0, got %d", n.name, n.v)
		}
	}
	if c.startRate > c.maxRate {
		bad("-start-rate %d is above -max-rate %d", c.startRate, c.maxRate)
	}
	if c.coStallAt < 0 || c.coStallAt+c.coStall > c.coTime {
		bad("the stall (-co-stall-at %v + -co-stall %v) must lie within -co-time %v", c.coStallAt, c.coStall, c.coTime)
	}
	if c.server != "process" && c.server != "inproc" {
		bad("-server must be process or inproc, got %q", c.server)
	}
	if strings.Trim(c.sections, "123") != "" || c.sections == "" {
		bad("-sections must be made of 1, 2 and 3, got %q", c.sections)
	}
	return errors.Join(errs...)
}
