// Command broker is the Kafka-protocol broker of the system under test: an
// embedded kfake (franz-go) cluster of one broker that persists to a data
// directory and advertises the address clients must dial — the Toxiproxy
// proxy in front of it — so every byte of Kafka traffic crosses the proxy.
//
//	broker --listen 127.0.0.1:15460 --advertise 127.0.0.1:15504 --data-dir DIR --topics orders
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		os.Exit(2) // the flag set already printed the problem and usage
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "broker:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then closes the cluster, which flushes its
// state to the data directory.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	b, err := start(cfg, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "broker listening on %s, advertising %s\n", b.listenAddr, b.advertised)
	<-ctx.Done()
	b.close()
	return nil
}
