package operator

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/internal/clock"
)

// PGNodes are the Patroni nodes of the topology.
var PGNodes = []string{compose.SvcPG0, compose.SvcPG1}

// Role asks a node's Patroni REST API whether it is the leader
// (OPTIONS /primary = 200) or a running replica (OPTIONS /replica = 200).
func Role(ctx context.Context, top compose.Topology, node string) string {
	for _, role := range []string{"primary", "replica"} {
		switch RestStatus(ctx, top, node, "/"+role) {
		case 0:
			return "down"
		case http.StatusOK:
			return role
		}
	}
	return "unknown"
}

// Leader returns the node Patroni reports as primary.
func Leader(ctx context.Context, top compose.Topology) (string, error) {
	for _, n := range PGNodes {
		if Role(ctx, top, n) == "primary" {
			return n, nil
		}
	}
	return "", fmt.Errorf("no Patroni node reports itself primary")
}

// RestStatus is the status of OPTIONS path on a node's Patroni REST API.
func RestStatus(ctx context.Context, top compose.Topology, node, path string) int {
	url := fmt.Sprintf("http://%s%s", compose.Addr(top.Service(node).Port("rest")), path)
	req, _ := http.NewRequestWithContext(ctx, http.MethodOptions, url, nil)
	resp, err := (&http.Client{Timeout: 500 * time.Millisecond}).Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// SetSyncReplication switches Patroni's synchronous_mode through its REST
// API (the cluster-wide dynamic config) and, when switching on, awaits a
// synchronous standby: a commit is acknowledged only once the standby has
// it, so promoting the standby loses no acknowledged write (RPO 0).
func SetSyncReplication(ctx context.Context, top compose.Topology, on bool) error {
	lead, err := Leader(ctx, top)
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
		for _, node := range PGNodes {
			if node != lead && RestStatus(ctx, top, node, "/sync") == want {
				n++
			}
		}
		if n == len(PGNodes)-1 {
			return nil
		}
		if !clock.Sleep(ctx, 200*time.Millisecond) {
			return ctx.Err()
		}
	}
	return fmt.Errorf("patroni did not switch synchronous_mode to %t within 20s", on)
}

// AwaitRejoin polls the old primary until Patroni reports it a replica.
func AwaitRejoin(ctx context.Context, top compose.Topology, node string, within time.Duration) (bool, time.Duration) {
	start := time.Now()
	for time.Since(start) < within && ctx.Err() == nil {
		if Role(ctx, top, node) == "replica" {
			return true, time.Since(start)
		}
		clock.Sleep(ctx, 250*time.Millisecond)
	}
	return false, time.Since(start)
}
