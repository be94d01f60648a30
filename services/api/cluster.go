package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/services/internal/config"
)

// The hot-key scenario's Redis Cluster client. Every command a node client
// sends is counted against that node, so /admin/stats shows per-node load
// as the API sent it: go-redis routes each key to the master that owns its
// slot, and the counting hook sits on that master's client.

// clusterSeed is one node of --redis-cluster: its name and the address it
// announces (its Toxiproxy link).
type clusterSeed struct{ name, addr string }

// parseClusterSeeds reads "name=host:port,..."; names and addresses must
// be unique.
func parseClusterSeeds(s string) ([]clusterSeed, error) {
	var out []clusterSeed
	names, addrs := map[string]bool{}, map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" || strings.ContainsAny(name, ". ") {
			return nil, fmt.Errorf("--redis-cluster %q: want name=host:port,... with names free of dots and spaces", part)
		}
		// a bad port ("h:") must fail here, not as a startup timeout
		if err := config.HostPort("--redis-cluster node "+name, addr); err != nil {
			return nil, err
		}
		if names[name] || addrs[addr] {
			return nil, fmt.Errorf("--redis-cluster: %q repeats a name or an address", part)
		}
		names[name], addrs[addr] = true, true
		out = append(out, clusterSeed{name: name, addr: addr})
	}
	return out, nil
}

// nodeCounters are one node's counters.
type nodeCounters struct {
	ops, errors atomic.Int64
	micros      atomic.Int64 // summed command latency, µs
}

func (n *nodeCounters) record(cmds int, d time.Duration, err error) {
	n.ops.Add(int64(cmds))
	n.micros.Add(int64(cmds) * d.Microseconds())
	if err != nil && !errors.Is(err, redis.Nil) {
		n.errors.Add(int64(cmds))
	}
}

// clusterNodeJSON is a node in /admin/stats.
type clusterNodeJSON struct {
	Ops            int64   `json:"ops"`
	Errors         int64   `json:"errors"`
	LatencySeconds float64 `json:"latency_seconds"` // summed; Δ/Δops is the mean
}

// cluster is the client plus what the API knows of the cluster's layout.
type cluster struct {
	rdb   *redis.ClusterClient
	seeds []clusterSeed
	nodes map[string]*nodeCounters // by announced address; "other" for an unknown one
	other nodeCounters
	// owner maps a slot to a node name; loaded once the cluster is up
	owner atomic.Pointer[[]string]
}

func newCluster(seeds []clusterSeed, poolSize int) *cluster {
	c := &cluster{seeds: seeds, nodes: map[string]*nodeCounters{}}
	var addrs []string
	for _, s := range seeds {
		c.nodes[s.addr] = &nodeCounters{}
		addrs = append(addrs, s.addr)
	}
	c.rdb = redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs,
		// A slowed node must show its latency, not turn it into errors:
		// timeouts well above the scenario's added latency, and no retries.
		DialTimeout:     500 * time.Millisecond,
		ReadTimeout:     time.Second,
		WriteTimeout:    time.Second,
		PoolTimeout:     time.Second,
		PoolSize:        poolSize,
		MaxRetries:      -1,
		MaxRedirects:    1,
		DisableIdentity: true,
	})
	c.rdb.OnNewNode(func(node *redis.Client) {
		n, ok := c.nodes[node.Options().Addr]
		if !ok {
			n = &c.other
		}
		node.AddHook(countingHook{n})
	})
	return c
}

// countingHook counts the key commands a node client sends; the cluster
// client's own CLUSTER SLOTS and PINGs are not load.
type countingHook struct{ n *nodeCounters }

func (countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		switch cmd.Name() {
		case "cluster", "ping", "hello", "readonly":
			return next(ctx, cmd)
		}
		start := time.Now()
		err := next(ctx, cmd)
		h.n.record(1, time.Since(start), err)
		return err
	}
}

func (h countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.n.record(len(cmds), time.Since(start), err)
		return err
	}
}

// ready pings every master and loads the slot map.
func (c *cluster) ready(ctx context.Context) error {
	if err := c.rdb.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return n.Ping(ctx).Err() }); err != nil {
		return err
	}
	slots, err := c.rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return err
	}
	byAddr := map[string]string{}
	for _, s := range c.seeds {
		byAddr[s.addr] = s.name
	}
	owner := make([]string, 16384)
	for _, r := range slots {
		if len(r.Nodes) == 0 || r.Start < 0 || r.End >= len(owner) {
			continue
		}
		name, ok := byAddr[r.Nodes[0].Addr]
		if !ok {
			return fmt.Errorf("slots %d-%d are served by %s, which is not in --redis-cluster", r.Start, r.End, r.Nodes[0].Addr)
		}
		for s := r.Start; s <= r.End; s++ {
			owner[s] = name
		}
	}
	for s, n := range owner {
		if n == "" {
			return fmt.Errorf("slot %d is not served", s)
		}
	}
	c.owner.Store(&owner)
	return nil
}

// ownerOf is the slot map as a slotOwner.
func (c *cluster) ownerOf(slot int) (string, bool) {
	o := c.owner.Load()
	if o == nil || slot < 0 || slot >= len(*o) {
		return "", false
	}
	return (*o)[slot], true
}

func (c *cluster) names() []string {
	var n []string
	for _, s := range c.seeds {
		n = append(n, s.name)
	}
	return n
}

func (c *cluster) stats() map[string]clusterNodeJSON {
	out := map[string]clusterNodeJSON{}
	add := func(name string, n *nodeCounters) {
		out[name] = clusterNodeJSON{Ops: n.ops.Load(), Errors: n.errors.Load(), LatencySeconds: float64(n.micros.Load()) / 1e6}
	}
	for _, s := range c.seeds {
		add(s.name, c.nodes[s.addr])
	}
	add("other", &c.other)
	return out
}

// sortedIDs formats ids for /admin/stats.
func sortedIDs(ids []int64) string {
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}
