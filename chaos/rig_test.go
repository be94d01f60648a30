package chaos_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/chaos/toxiserver"
)

// rig is a real Toxiproxy server with one proxy ("link") in front of a TCP
// echo server.
type rig struct {
	tp   *chaos.Toxiproxy
	raw  *toxiclient.Client
	link string
	addr string // proxy listen address: what a client dials
}

func newRig(t *testing.T) *rig {
	t.Helper()
	echo := startEcho(t)
	srv, err := toxiserver.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(context.Background()); err != nil {
			t.Errorf("close toxiproxy: %v", err)
		}
	})
	raw := toxiclient.NewClient(srv.URL())
	p, err := raw.CreateProxy("link", "127.0.0.1:0", echo)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{tp: chaos.NewToxiproxy(srv.URL()), raw: raw, link: "link", addr: p.Listen}
}

// startEcho serves TCP echo on a random loopback port until the test ends.
func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c); _ = c.Close() })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func (r *rig) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", r.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// echo sends msg and reads it back, returning how long that took.
func echo(c net.Conn, msg []byte, deadline time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := c.SetDeadline(start.Add(deadline)); err != nil {
		return 0, err
	}
	if _, err := c.Write(msg); err != nil {
		return 0, err
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		return time.Since(start), err
	}
	return time.Since(start), nil
}

// mustEcho asserts a healthy round trip on a fresh connection.
func (r *rig) mustEcho(t *testing.T) time.Duration {
	t.Helper()
	d, err := echo(r.dial(t), []byte("hello"), 5*time.Second)
	if err != nil {
		t.Fatalf("echo through healthy link: %v", err)
	}
	return d
}

func (r *rig) toxics(t *testing.T) []chaos.Toxic {
	t.Helper()
	ps, err := r.tp.Proxies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == r.link {
			return p.Toxics
		}
	}
	t.Fatalf("proxy %s not listed", r.link)
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
