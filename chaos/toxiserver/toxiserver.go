// Package toxiserver runs a Toxiproxy server inside the calling process:
// the runner embeds one in local mode, and tests start their own on a
// random port.
package toxiserver

import (
	"context"
	"errors"
	"io"
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
// Proxies created through the API or AddProxy live until Close. Errors of
// the proxies go to errLog as JSON lines; nil keeps them silent (library
// code never logs on its own; the API reports through its replies).
func Start(addr string, errLog io.Writer) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	logger := zerolog.Nop()
	if errLog != nil {
		// error level: info and warn log every connection open and close
		logger = zerolog.New(errLog).With().Timestamp().Logger().Level(zerolog.ErrorLevel)
	}
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), logger)
	s := &Server{
		api:  api,
		ln:   ln,
		http: &http.Server{Handler: api.Routes(), ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.http.Serve(ln) }()
	return s, nil
}

// AddProxy starts a proxy from listen to upstream (both host:port).
func (s *Server) AddProxy(name, listen, upstream string) error {
	return s.api.Collection.Add(toxiproxy.NewProxy(s.api, name, listen, upstream), true)
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
