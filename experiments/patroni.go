package experiments

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
)

// pgNodes are the Patroni nodes of the topology.
var pgNodes = []string{compose.SvcPG0, compose.SvcPG1}

// patroniRole asks a node's Patroni REST API whether it is the leader
// (OPTIONS /primary = 200) or a running replica (OPTIONS /replica = 200).
func patroniRole(ctx context.Context, top compose.Topology, node string) string {
	for _, role := range []string{"primary", "replica"} {
		switch restStatus(ctx, top, node, "/"+role) {
		case 0:
			return "down"
		case http.StatusOK:
			return role
		}
	}
	return "unknown"
}

// leader returns the node Patroni reports as primary.
func leader(ctx context.Context, top compose.Topology) (string, error) {
	for _, n := range pgNodes {
		if patroniRole(ctx, top, n) == "primary" {
			return n, nil
		}
	}
	return "", fmt.Errorf("no Patroni node reports itself primary")
}

// leaderFault kills or pauses whichever node leads when it is injected,
// and measures how long Patroni takes to promote the other one.
type leaderFault struct {
	e     *Env
	pause bool

	mu        sync.Mutex
	victim    string
	cut       []chaos.Fault // the dead host's links, blackholed
	proc      chaos.Fault   // the kill or pause of the leader's processes
	injected  time.Time
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

func (f *leaderFault) Name() string {
	if f.pause {
		return "pause-pg-leader"
	}
	return "kill-pg-leader"
}

func (f *leaderFault) Inject(ctx context.Context) error {
	v, err := leader(ctx, f.e.Topology)
	if err != nil {
		return err
	}
	if !f.pause {
		// A crashed host does not answer with RST the way a killed process
		// on a live host does: every path into it goes silent, new
		// connections included (chaos.Blackhole). Cut before the kill.
		for _, l := range f.e.Topology.LinksTo(v) {
			c, err := chaos.Blackhole(f.e.Toxi, l.Name)
			if err != nil {
				return err
			}
			f.cut = append(f.cut, c)
			if err := c.Inject(ctx); err != nil {
				return fmt.Errorf("blackholing %s: %w", l.Name, err)
			}
		}
	}
	ctl := f.e.Stack.Controller()
	if f.pause {
		f.proc = chaos.Pause(ctl, v)
	} else {
		f.proc = chaos.Kill(ctl, v)
	}
	err = f.proc.Inject(ctx)
	f.mu.Lock()
	f.victim, f.injected = v, time.Now()
	f.mu.Unlock()
	// what the audit reads back: the broken node, by its place in pgNodes
	f.e.Run.SetFact(victimFact, float64(slices.Index(pgNodes, v)))
	if err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.stopWatch, f.watchDone = cancel, make(chan struct{})
	go f.watchPromotion(wctx, v)
	return nil
}

// watchPromotion polls the surviving node until it reports primary.
func (f *leaderFault) watchPromotion(ctx context.Context, victim string) {
	defer close(f.watchDone)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		for _, n := range pgNodes {
			if n != victim && patroniRole(ctx, f.e.Topology, n) == "primary" {
				f.mu.Lock()
				f.e.Run.SetFact(promotionFact, time.Since(f.injected).Seconds())
				f.mu.Unlock()
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (f *leaderFault) Recover(ctx context.Context) error {
	f.mu.Lock()
	v := f.victim
	f.mu.Unlock()
	if f.stopWatch != nil {
		// give the watcher the rest of the fault's grace to see promotion
		select {
		case <-f.watchDone:
		case <-time.After(15 * time.Second):
		}
		f.stopWatch()
	}
	if v == "" {
		return nil
	}
	for _, c := range f.cut {
		if c == nil {
			continue
		}
		if err := c.Recover(ctx); err != nil {
			return fmt.Errorf("restoring links of %s: %w", v, err)
		}
	}
	f.cut = nil
	return f.proc.Recover(ctx) // resume, or start again
}

// Facts a leader fault records: which node it broke (its index in
// pgNodes) and how long after the break the other node was primary (absent
// when no promotion was seen).
const (
	victimFact    = "victim_node"
	promotionFact = "promotion_seconds"
)

// setSyncReplication switches Patroni's synchronous_mode through its REST
// API (the cluster-wide dynamic config) and, when switching on, awaits a
// synchronous standby: a commit is acknowledged only once the standby has
// it, so promoting the standby loses no acknowledged write (RPO 0).
func setSyncReplication(ctx context.Context, top compose.Topology, on bool) error {
	lead, err := leader(ctx, top)
	if err != nil {
		return err
	}
	url := fmt.Sprintf("http://%s/config", compose.Addr(top.Service(lead).Port("rest")))
	body := fmt.Sprintf(`{"synchronous_mode": %t}`, on)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		return fmt.Errorf("patroni PATCH /config: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("patroni PATCH /config: %s", resp.Status)
	}
	want := http.StatusOK
	if !on {
		want = http.StatusServiceUnavailable
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, node := range pgNodes {
			if node != lead && restStatus(ctx, top, node, "/sync") == want {
				n++
			}
		}
		if n == len(pgNodes)-1 {
			return nil
		}
		if !wait(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("patroni did not switch synchronous_mode to %t within 20s", on)
}

// restStatus is the status of OPTIONS path on a node's Patroni REST API.
func restStatus(ctx context.Context, top compose.Topology, node, path string) int {
	url := fmt.Sprintf("http://%s%s", compose.Addr(top.Service(node).Port("rest")), path)
	req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, url, nil)
	resp, err := (&http.Client{Timeout: 500 * time.Millisecond}).Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
