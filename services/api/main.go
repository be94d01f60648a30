// Command api is the system under test's HTTP API: item reads through L1,
// Redis and Postgres, and order writes, with every protection of seed
// scenarios 1 and 2 behind a runtime switch.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("api: ")
	f, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(2)
	}
	if err := run(f); err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

func run(f flags) error {
	redis.SetLogger(&rateLimitedLog{})
	a, err := newApp(f)
	if err != nil {
		return err
	}
	defer a.close()

	// Bind first so a taken port fails at once; serve only once ready, so a
	// 200 from /health means the API can do its work.
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", f.listen, err)
	}
	a.self = "http://" + ln.Addr().String()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	go a.memPeak.watch(ctx)
	start := time.Now()
	seeded, err := a.waitReady(ctx, f.startupTimeout, f.items)
	if err != nil {
		ln.Close()
		return fmt.Errorf("startup: %w", err)
	}
	log.Printf("ready in %v (seeded %d items); listening on %s; protections %v",
		time.Since(start).Round(time.Millisecond), seeded, ln.Addr(), a.prot.Snapshot())

	a.runCheckoutWorkers(ctx)
	srv := &http.Server{
		Handler:           a.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		IdleTimeout:       90 * time.Second,
		// No WriteTimeout: how long a client waits on a stuck DB is the
		// experiment's measurement, decided by the client.
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Print("shutting down")
	// Shutdown waits for requests in flight, and treats a connection a
	// client opened but has not used yet as busy for up to 5s; after a
	// short grace, close whatever is left.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Printf("graceful shutdown incomplete after %v (%v); closing connections", shutdownGrace, err)
		_ = srv.Close()
	}
	log.Print("http server stopped")
	return nil
}

const shutdownGrace = 2 * time.Second

// rateLimitedLog keeps go-redis's per-failure messages (one per failed dial
// while Redis is down, thousands a second) to one line a second.
type rateLimitedLog struct {
	last atomic.Int64
	drop atomic.Int64
}

func (l *rateLimitedLog) Printf(_ context.Context, format string, v ...any) {
	l.logf("redis: "+format, v...)
}

// logf logs at most one line a second, saying how many it dropped.
func (l *rateLimitedLog) logf(format string, v ...any) {
	now := time.Now().UnixNano()
	last := l.last.Load()
	if now-last < int64(time.Second) || !l.last.CompareAndSwap(last, now) {
		l.drop.Add(1)
		return
	}
	msg := fmt.Sprintf(format, v...)
	if n := l.drop.Swap(0); n > 0 {
		msg += fmt.Sprintf(" (%d similar messages dropped)", n)
	}
	log.Print(msg)
}
