package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/segmentio/kafka-go"

	"github.com/whatif-lab/whatif/chaos/toxiserver"
)

// brokerBin is the broker binary, built once for the package's tests.
var brokerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "broker-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	brokerBin = filepath.Join(dir, "broker")
	out, err := exec.Command("go", "build", "-o", brokerBin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proxied is a Toxiproxy proxy in front of the broker port: the address the
// broker advertises, as in the real topology.
type proxied struct {
	raw  *toxiclient.Client
	addr string // proxy listen address
}

// startProxy starts a proxy whose upstream is set later by pointAt: the
// broker's port is known only once it listens (picking a "free" port
// beforehand races with everything else on the machine).
func startProxy(t *testing.T) proxied {
	t.Helper()
	srv, err := toxiserver.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	raw := toxiclient.NewClient(srv.URL())
	p, err := raw.CreateProxy("broker", "127.0.0.1:0", "127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	return proxied{raw: raw, addr: p.Listen}
}

func (px proxied) pointAt(t *testing.T, upstream string) {
	t.Helper()
	p, err := px.raw.Proxy("broker")
	if err != nil {
		t.Fatal(err)
	}
	p.Upstream = upstream
	if err := p.Save(); err != nil {
		t.Fatal(err)
	}
}

// startBehindProxy starts a broker on a kernel-chosen port, advertising a
// new proxy in front of it, and returns both.
func startBehindProxy(t *testing.T, args ...string) (*proc, proxied) {
	t.Helper()
	px := startProxy(t)
	b := startBroker(t, append([]string{"--listen", "127.0.0.1:0", "--advertise", px.addr}, args...)...)
	px.pointAt(t, b.listen)
	return b, px
}

// proc is a running broker process.
type proc struct {
	listen string // the broker's real address, from its ready line
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan error
}

// startBroker runs the binary and waits for its ready line.
func startBroker(t *testing.T, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(brokerBin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "broker listening") {
				ready <- sc.Text()
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { p.stop(t, syscall.SIGKILL) })
	select {
	case line := <-ready:
		t.Logf("%s", line)
		// "broker listening on ADDR, advertising ADDR"
		p.listen = strings.TrimSuffix(strings.Fields(line)[3], ",")
	case err := <-p.done:
		p.done <- err
		t.Fatalf("broker exited before ready: %v\n%s", err, p.stderr)
	case <-time.After(20 * time.Second):
		t.Fatalf("broker not ready in 20s\n%s", p.stderr)
	}
	return p
}

// stop signals the broker and waits for it to exit; a SIGTERM must end in
// a clean exit.
func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case err := <-p.done:
		if sig == syscall.SIGTERM && err != nil {
			t.Errorf("broker exit after SIGTERM: %v\n%s", err, p.stderr)
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("broker did not exit on %v within 20s\n%s", sig, p.stderr)
		<-p.done
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// produce writes n records key-i/value-i and waits for every ack from the
// broker (RequireAll: kafka-go's default acks nothing and lost records).
func produce(ctx context.Context, addr, topic string, from, n int) error {
	w := &kafka.Writer{
		Addr:         kafka.TCP(addr),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  3,
	}
	defer w.Close()
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{Key: fmt.Appendf(nil, "key-%d", from+i), Value: fmt.Appendf(nil, "value-%d", from+i)}
	}
	return w.WriteMessages(ctx, msgs...)
}

// groupReader is a consumer-group reader with the short timeouts
// experiments use (kafka-go defaults to 30 s).
func groupReader(addr, topic, group string) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:           []string{addr},
		GroupID:           group,
		Topic:             topic,
		StartOffset:       kafka.FirstOffset,
		MaxWait:           100 * time.Millisecond,
		HeartbeatInterval: 200 * time.Millisecond,
		SessionTimeout:    2 * time.Second,
		RebalanceTimeout:  2 * time.Second,
		JoinGroupBackoff:  100 * time.Millisecond,
		ReadBackoffMin:    10 * time.Millisecond,
		ReadBackoffMax:    100 * time.Millisecond,
		MaxAttempts:       3,
	})
}

// consume reads (and commits) exactly n records from the group, returning
// their values; it fails on a duplicate.
func consume(ctx context.Context, r *kafka.Reader, n int) (map[string]bool, error) {
	seen := make(map[string]bool, n)
	for len(seen) < n {
		m, err := r.ReadMessage(ctx) // commits synchronously (CommitInterval 0)
		if err != nil {
			return seen, fmt.Errorf("after %d records: %w", len(seen), err)
		}
		v := string(m.Value)
		if seen[v] {
			return seen, fmt.Errorf("duplicate record %s", v)
		}
		seen[v] = true
	}
	return seen, nil
}
