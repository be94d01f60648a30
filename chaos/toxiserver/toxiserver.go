// Package toxiserver runs a Toxiproxy server inside the calling process:
// the runner embeds one in local mode, and tests start their own on a
// random port.
package toxiserver

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
)

// Some toxics (bandwidth) log through zerolog's global logger at trace
// level, which would spray JSON on the runner's stderr. Silence it once,
// before any toxic runs.
func init() { zlog.Logger = zerolog.Nop() }

// Server is a running in-process Toxiproxy: its HTTP API and its proxies.
type Server struct {
	api  *toxiproxy.ApiServer
	ln   net.Listener
	http *http.Server
	done chan error

	closeOnce sync.Once
	closeErr  error
}

// Start serves the Toxiproxy API on addr ("127.0.0.1:0" picks a free port).
// Proxies created through the API live until Close.
func Start(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	// Silent: library code never logs; the API reports through its replies.
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	s := &Server{
		api:  api,
		ln:   ln,
		http: &http.Server{Handler: api.Routes(), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.http.Serve(ln) }()
	return s, nil
}

// Addr is the API's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the API's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops the API and every proxy; later calls return the first
// result. Stopping the API alone would leave the proxies listening and
// forwarding, so the collection is cleared too.
func (s *Server) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		err := s.http.Shutdown(ctx)
		if cerr := s.api.Collection.Clear(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		s.closeErr = err
	})
	return s.closeErr
}
