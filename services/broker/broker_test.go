package main

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// TestProduceConsumeThroughProxy: records produced through the proxy with
// acks=all are consumed back by a group, and metadata sends clients to the
// advertised proxy even when they bootstrap at the broker's own port.
func TestProduceConsumeThroughProxy(t *testing.T) {
	b, px := startBehindProxy(t, "--topics", "orders", "--partitions", "3")
	listen := b.listen
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	for _, bootstrap := range []string{listen, px.addr} {
		conn, err := kafka.DialContext(ctx, "tcp", bootstrap)
		if err != nil {
			t.Fatal(err)
		}
		brokers, err := conn.Brokers()
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(brokers) != 1 || net.JoinHostPort(brokers[0].Host, strconv.Itoa(brokers[0].Port)) != px.addr {
			t.Fatalf("metadata via %s: brokers %+v, want only the proxy %s", bootstrap, brokers, px.addr)
		}
	}

	const n = 200
	start := time.Now()
	if err := produce(ctx, px.addr, "orders", 0, n); err != nil {
		t.Fatalf("produce: %v", err)
	}
	t.Logf("produced %d records with acks=all in %v", n, time.Since(start))

	start = time.Now()
	r := groupReader(px.addr, "orders", "g1")
	got, err := consume(ctx, r, n)
	if cerr := r.Close(); cerr != nil {
		t.Errorf("close reader: %v", cerr)
	}
	if err != nil {
		t.Fatalf("consume: %v", err)
	}
	for i := range n {
		if !got[fmt.Sprintf("value-%d", i)] {
			t.Fatalf("record %d missing", i)
		}
	}
	t.Logf("group consumed %d records in %v (join included)", n, time.Since(start))

	// With the proxy down, a client that bootstraps at the real port still
	// cannot produce: metadata sent it to the proxy.
	p, err := px.raw.Proxy("broker")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Disable(); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(listen), Topic: "orders", RequiredAcks: kafka.RequireAll, MaxAttempts: 1, WriteTimeout: 2 * time.Second}
	defer w.Close()
	if err := w.WriteMessages(ctx, kafka.Message{Value: []byte("bypass")}); err == nil {
		t.Fatal("produce bootstrapped at the broker's port succeeded with the proxy down; metadata does not advertise the proxy")
	}
}

// TestRestartKeepsData: records and committed group offsets survive a
// broker restart on the same data dir, after a clean stop and after SIGKILL.
func TestRestartKeepsData(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			b, px := startBehindProxy(t, "--data-dir", dir, "--topics", "events")
			// The restart reuses the address, as the supervisor does.
			args := []string{"--listen", b.listen, "--advertise", px.addr, "--data-dir", dir, "--topics", "events"}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()

			const n, firstRead = 120, 50
			if err := produce(ctx, px.addr, "events", 0, n); err != nil {
				t.Fatalf("produce: %v", err)
			}
			r := groupReader(px.addr, "events", "g")
			before, err := consume(ctx, r, firstRead)
			if err != nil {
				t.Fatalf("consume before restart: %v", err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			b.stop(t, sig)

			startBroker(t, args...)
			// Every record is still there, for a new group.
			r = groupReader(px.addr, "events", "fresh")
			all, err := consume(ctx, r, n)
			r.Close()
			if err != nil {
				t.Fatalf("read back after restart: %v", err)
			}
			if len(all) != n {
				t.Fatalf("read back %d records, want %d", len(all), n)
			}
			// The old group resumes from its committed offsets: it gets
			// exactly the records it had not read.
			r = groupReader(px.addr, "events", "g")
			defer r.Close()
			rest, err := consume(ctx, r, n-firstRead)
			if err != nil {
				t.Fatalf("resume group after restart: %v", err)
			}
			for v := range rest {
				if before[v] {
					t.Fatalf("group re-read %s after restart: committed offset lost", v)
				}
			}
			// Nothing more: a further read must time out.
			short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
			defer cancelShort()
			if m, err := r.ReadMessage(short); err == nil {
				t.Fatalf("group got an extra record %s after reading all", m.Value)
			}
		})
	}
}
