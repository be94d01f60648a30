// Command whatif-worker is the system's worker pool: consumer groups over
// one broker topic whose members change at runtime, doing one pipeline's
// work: for scenario 3 notifications and an analytics write per event, for
// scenario 13 an upload service and encoders making four renditions, for
// scenario 20 an upload service and three processing steps, for scenario 14
// a payments application with its audit trail, and the CDC connector that
// carries payments from a logical replication slot to the broker.
// Its /admin endpoints switch protections and settings, resize groups,
// reset between runs and report lag, members, queue depth and what each
// group finished (for the runner's audit).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "whatif-worker:", err)
		}
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "whatif-worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg flags) error {
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return err
	}
	w, err := newWorker(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer w.close()
	if err := w.rebuild(cfg.members); err != nil {
		ln.Close()
		return err
	}
	go w.watchLag(ctx)
	go w.autoscale(ctx)
	go w.watchAlert(ctx)
	srv := &http.Server{Handler: w.routes(cfg.adminToken), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
