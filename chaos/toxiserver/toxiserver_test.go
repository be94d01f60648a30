package toxiserver_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/whatif-lab/whatif/chaos/toxiserver"
)

// TestCloseStopsProxies: after Close, neither the API nor any proxy listens.
func TestCloseStopsProxies(t *testing.T) {
	s, err := toxiserver.Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	p, err := toxiclient.NewClient(s.URL()).CreateProxy("p", "127.0.0.1:0", up.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", p.Listen, 5*time.Second)
	if err != nil {
		t.Fatalf("dial proxy while running: %v", err)
	}
	_ = c.Close()
	for range 2 {
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, addr := range []string{p.Listen, s.Addr()} {
		if _, err := net.DialTimeout("tcp", addr, 5*time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial %s after Close: %v, want refused", addr, err)
		}
	}
}
