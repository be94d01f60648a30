// Command loadbench compares loadgen with vegeta's library against a local
// HTTP server on 127.0.0.1: the highest constant rate each sustains, the CPU
// each spends per request, and what each reports for p99 when the server
// stalls (coordinated omission).
//
//	go run ./cmd/loadbench            # ~2 minutes, prints one table per section
//	go run ./cmd/loadbench -h         # flags
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

func main() {
	c, serveMode, err := parseFlags(os.Args[1:], os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2) // the flag package has said what is wrong
	case err != nil:
		fmt.Fprintf(os.Stderr, "loadbench: %v\n", err)
		os.Exit(2)
	case serveMode:
		if err := serve(); err != nil {
			fmt.Fprintf(os.Stderr, "loadbench server: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := bench(ctx, c, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "loadbench: %v\n", err)
		os.Exit(1)
	}
}

func bench(ctx context.Context, c config, out, progress io.Writer) error {
	srv, err := startServer(c.server)
	if err != nil {
		return err
	}
	defer srv.stop()
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	began := time.Now()
	fmt.Fprintf(out, "loadbench: target %s (%s); %d CPUs, GOMAXPROCS %d\n", srv.URL, srv.Desc, runtime.NumCPU(), runtime.GOMAXPROCS(0))
	if strings.Contains(c.sections, "1") {
		if err := maxRateSection(ctx, c, srv.URL, out, progress); err != nil {
			return err
		}
	}
	if strings.Contains(c.sections, "2") {
		if err := cpuSection(ctx, c, srv.URL, out, progress); err != nil {
			return err
		}
	}
	if strings.Contains(c.sections, "3") {
		if err := omissionSection(ctx, c, srv.URL, out, progress); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\ntotal time %v\n", time.Since(began).Round(time.Second))
	return nil
}
