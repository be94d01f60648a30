package local

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/whatif-lab/whatif/chaos/toxiserver"
	"github.com/whatif-lab/whatif/compose"
)

// toxiServer is Toxiproxy embedded in the runner: the HTTP API that the
// chaos plane talks to plus one proxy per topology link.
type toxiServer struct {
	srv *toxiserver.Server
	log io.Closer
}

// startToxiproxy binds the API port itself (so a busy port is an error here,
// not a log line in a goroutine) and starts every link's proxy.
func startToxiproxy(topo compose.Topology, log io.WriteCloser) (*toxiServer, error) {
	srv, err := toxiserver.Start(compose.Addr(topo.Service(compose.SvcToxiproxy).Port("main")), log)
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("toxiproxy API: %w", err)
	}
	ts := &toxiServer{srv: srv, log: log}
	for _, l := range topo.Links {
		if err := srv.AddProxy(l.Name, compose.Addr(l.Listen), compose.Addr(l.Upstream)); err != nil {
			_ = ts.close(context.Background())
			return nil, fmt.Errorf("toxiproxy link %s on %s: %w", l.Name, compose.Addr(l.Listen), err)
		}
	}
	return ts, nil
}

// close stops the API and every proxy (toxiserver clears the collection:
// stopping the API alone would leave the proxy listeners open).
func (ts *toxiServer) close(ctx context.Context) error {
	return errors.Join(ts.srv.Close(ctx), ts.log.Close())
}
