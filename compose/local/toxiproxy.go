package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/whatif-lab/whatif/compose"
)

// toxiServer is Toxiproxy embedded in the runner: the HTTP API that the
// chaos plane talks to plus one proxy per topology link.
type toxiServer struct {
	api  *toxiproxy.ApiServer
	http *http.Server
	log  io.Closer
}

// startToxiproxy binds the API port itself (so a busy port is an error here,
// not a log line in a goroutine) and starts every link's proxy.
func startToxiproxy(topo compose.Topology, log io.WriteCloser) (*toxiServer, error) {
	// Error level: Info and Warn log every connection open and close, which
	// floods the log under load.
	logger := zerolog.New(log).With().Timestamp().Logger().Level(zerolog.ErrorLevel)
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), logger)
	addr := compose.Addr(topo.Service(compose.SvcToxiproxy).Port("main"))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("toxiproxy API: %w", err)
	}
	ts := &toxiServer{
		api:  api,
		http: &http.Server{Handler: api.Routes(), ReadHeaderTimeout: 10 * time.Second},
		log:  log,
	}
	go func() { _ = ts.http.Serve(ln) }()
	for _, l := range topo.Links {
		p := toxiproxy.NewProxy(api, l.Name, compose.Addr(l.Listen), compose.Addr(l.Upstream))
		if err := api.Collection.Add(p, true); err != nil {
			_ = ts.close(context.Background())
			return nil, fmt.Errorf("toxiproxy link %s on %s: %w", l.Name, compose.Addr(l.Listen), err)
		}
	}
	return ts, nil
}

// close stops the API and every proxy: Shutdown of the API alone would
// leave the proxy listeners open.
func (ts *toxiServer) close(ctx context.Context) error {
	err := ts.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = ts.http.Close()
	}
	err = errors.Join(err, ts.api.Collection.Clear())
	return errors.Join(err, ts.log.Close())
}
