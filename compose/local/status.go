package local

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/compose"
)

// ServiceStatus is one service as seen right now.
type ServiceStatus struct {
	Name    string
	PIDs    []int  // every process of the service (whole trees)
	Healthy bool   // its readiness check passes
	Detail  string // e.g. "leader", "replica", "write=pg1", or why it is unhealthy
}

// Status checks every service of the stack (Toxiproxy first) concurrently,
// each check bounded to a couple of seconds.
func (s *Stack) Status(ctx context.Context) []ServiceStatus {
	out := make([]ServiceStatus, len(s.names)+1)
	t, err := scanProcs()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); out[0] = s.toxiStatus(ctx) }()
	for i, name := range s.names {
		sv := s.svcs[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := ServiceStatus{Name: name}
			if err == nil {
				st.PIDs = members(t, sv.selector())
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			detail, herr := sv.health(cctx)
			cancel()
			st.Healthy = herr == nil
			st.Detail = detail
			if herr != nil {
				st.Detail = herr.Error()
			}
			out[i+1] = st
		}()
	}
	wg.Wait()
	return out
}

func (s *Stack) toxiStatus(ctx context.Context) ServiceStatus {
	st := ServiceStatus{Name: compose.SvcToxiproxy, PIDs: []int{os.Getpid()}}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := httpOK(cctx, s.ToxiproxyURL()+"/version"); err != nil {
		st.Detail = err.Error()
		return st
	}
	st.Healthy = true
	st.Detail = "embedded"
	return st
}
