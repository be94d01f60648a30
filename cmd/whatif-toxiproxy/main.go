// Command whatif-toxiproxy is the Toxiproxy server of the compose stack:
// the same embedded Toxiproxy v2.12.0 as local mode (chaos/toxiserver),
// with one proxy per topology link given on the command line.
//
//	whatif-toxiproxy --api 0.0.0.0:15400 --tarpit 127.0.0.1:9999 --link api_redis=0.0.0.0:15500=redis:15410 ...
//
// --tarpit serves a listener that accepts and never answers, in the
// server's own network: chaos.Blackhole points a dead host's links there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/chaos/toxiserver"
)

type link struct{ name, listen, upstream string }

type links []link

func (l *links) String() string { return fmt.Sprint(*l) }

func (l *links) Set(v string) error {
	p := strings.Split(v, "=")
	if len(p) != 3 || p[0] == "" || p[1] == "" || p[2] == "" {
		return errors.New("want NAME=LISTEN=UPSTREAM")
	}
	*l = append(*l, link{p[0], p[1], p[2]})
	return nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "whatif-toxiproxy:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("whatif-toxiproxy", flag.ContinueOnError)
	api := fs.String("api", "0.0.0.0:8474", "toxiproxy HTTP API address")
	tarpit := fs.String("tarpit", "", "also serve a tarpit (accepts, never answers) on this address; empty = none")
	var ls links
	fs.Var(&ls, "link", "NAME=LISTEN=UPSTREAM, repeatable: one proxy per link")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *tarpit != "" {
		pit, err := chaos.ListenTarpit(*tarpit)
		if err != nil {
			return fmt.Errorf("tarpit: %w", err)
		}
		defer pit.Close()
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := toxiserver.Start(*api, os.Stderr)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if err := srv.AddProxy(l.name, l.listen, l.upstream); err != nil {
			return errors.Join(fmt.Errorf("link %s: %w", l.name, err), srv.Close(context.Background()))
		}
	}
	fmt.Printf("toxiproxy API on %s, %d links\n", srv.Addr(), len(ls))
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Close(cctx)
}
