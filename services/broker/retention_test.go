package main

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestRetentionAfterRestart: with --retention, old records are deleted by
// the cleaner, also after a restart on the same data dir (kfake's own
// cleaner is not re-armed when it loads state from disk).
func TestRetentionAfterRestart(t *testing.T) {
	flags := []string{"--data-dir", t.TempDir(), "--topics", "logs", "--partitions", "1",
		"--retention", "1s", "--retention-check", "100ms"}
	b, px := startBehindProxy(t, flags...)
	args := append([]string{"--listen", b.listen, "--advertise", px.addr}, flags...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if err := produce(ctx, px.addr, "logs", 0, 10); err != nil {
		t.Fatal(err)
	}
	if first := firstOffset(ctx, t, px.addr, "logs"); first != 0 {
		t.Fatalf("first offset %d right after produce, want 0", first)
	}
	b.stop(t, syscall.SIGTERM)
	startBroker(t, args...)

	start := time.Now()
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for firstOffset(ctx, t, px.addr, "logs") == 0 {
		select {
		case <-deadline:
			t.Fatal("records older than --retention not deleted 20s after restart")
		case <-tick.C:
		}
	}
	t.Logf("expired records deleted %v after restart", time.Since(start))
}

func firstOffset(ctx context.Context, t *testing.T, addr, topic string) int64 {
	t.Helper()
	conn, err := kafka.DialLeader(ctx, "tcp", addr, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	off, err := conn.ReadFirstOffset()
	if err != nil {
		t.Fatal(err)
	}
	return off
}
