package scenarios

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 11: one key takes 80% of reads; the Redis Cluster master that
// owns its slot carries that load alone, and its link is slowed.
const (
	hotKeyRate    = 100 // GET /products req/s at normal load; peak is 10x
	hotKeyID      = 1   // the hot product
	hotKeyShare   = 80  // % of reads for it
	hotColdKeys   = 1000
	hotKeyTimeout = 2 * time.Second
	// hotKeyLatency is added to every reply of the hot key's node: a slow
	// node, of which the cluster has one.
	hotKeyLatency = 200 * time.Millisecond
	hotKeyJitter  = 20 * time.Millisecond
)

// hotNodeFact records which cluster node (index in RedisClusterNodes) owns
// the hot key, found from the slot map when the fault is injected.
const hotNodeFact = "hot_node_index"

var (
	// Key replication is off in both of hot-key's runs: with the L1 on,
	// switched off alone it broke no check (the hot key hardly reaches
	// Redis), so hot-key-replicas shows it alone.
	hotKey = hotKeyExperiment("hot-key", "Hot key on one Redis Cluster node", []string{"hot_key_replicas"},
		"the API spots the hot key by its read rate and serves it from an in-process copy refreshed in the "+
			"background: Redis reads for it cut by more than 90%, the slow link off its path, and the cluster's "+
			"commands within 2x across nodes. Key replication is off in both runs (hot-key-replicas shows it).")
	hotKeyReplicas = hotKeyExperiment("hot-key-replicas", "Hot key: key replication alone", []string{"hot_key_l1"},
		"key replication alone (no L1): reads of the hot key pick one of its copies on every master, so the "+
			"cluster's commands spread within 2x across nodes and the hot node no longer carries the key alone. "+
			"Replication spreads load; it does not hide a slow node: a third of the hot reads still cross its link.")
)

func hotKeyExperiment(name, title string, off []string, protected string) Experiment {
	x := Experiment{
		Name:     name,
		Title:    title,
		Scenario: 11,
		Shows: "GET /products through a 3-master Redis Cluster; 80% of reads ask for one product, whose slot one " +
			"master owns, and that master's link is slowed by 200 ms. Unprotected: the hot node carries ~87% of the " +
			"cluster's commands while the other two idle, and the p99 of the hot key follows the slow link. Protected: " +
			protected,
		Services: compose.RedisClusterNodes,
		Load: Load{
			Rate:        hotKeyRate,
			MaxInFlight: 2500,
			Ops: func(e *Env) []loadgen.Weighted {
				return []loadgen.Weighted{
					{Op: productReads(e, "hot", func() int64 { return hotKeyID }), Weight: hotKeyShare},
					{Op: productReads(e, "cold", func() int64 { return hotKeyID + 1 + rand.Int64N(hotColdKeys) }), Weight: 100 - hotKeyShare},
				}
			},
			Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: hotKeyTimeout} },
		},
		Mitigation: []string{"hot_key_l1", "hot_key_replicas"},
		Off:        off,
		Phases:     Phases{Baseline: 20 * time.Second, Fault: 40 * time.Second, Recovery: 20 * time.Second},
		Fault:      slowHotNode,
		Prepare:    warmProducts,
		Watch: []string{"products.requests", "products.hot_redis_reads", "products.l1_hits", "products.db_reads",
			"cluster.rc0.ops", "cluster.rc1.ops", "cluster.rc2.ops"},
		Cascade: []Check{
			// medians: a 4 s quick baseline's p99 is one CPU hiccup of a
			// shared 2-core box; the slowed link moves every hot read
			AtLeast("hot-key median latency during the fault / baseline", RatioOf(p50(Faulted, "hot"), p50(Baseline, "hot")), 3, Ratio),
			AtLeast("hot-key p99 during the fault", P99(Faulted, "hot"), 0.8*hotKeyLatency.Seconds(), Seconds),
			// the seed's "at 10x the hot node fails": ~870 commands/s need
			// more than the api's 128 connections to the node can carry at
			// 200 ms each (~600/s), so reads queue for a connection
			AtPeak(AnyOf("the hot node's link saturates",
				AtLeast("p99", P99(Faulted), 0.9*hotKeyTimeout.Seconds(), Seconds),
				AtLeast("error rate", ErrorRate(Faulted), 0.10, Percent),
			)),
		},
		Holds: []Check{
			// the Redis-read check counts only what the API took for hot: it
			// must have found the 80% key, or the ratio would say nothing
			AtLeast("reads the API served as hot-key reads", Share(Faulted, []string{"products.hot_requests"}, []string{"products.requests"}), 0.70, Percent),
			AtMost("busiest / idlest node, commands during the fault", nodeSpread(Faulted), 2, Ratio),
			AtMost("client error rate during the fault", ErrorRate(Faulted), 0.01, Percent),
		},
	}
	if !slices.Contains(off, "hot_key_l1") {
		x.Holds = append(x.Holds,
			AtMost("Redis reads per hot-key read during the fault",
				RatioOf(Rate(Faulted, "products.hot_redis_reads"), Rate(Faulted, "products.hot_requests")), 0.10, Ratio),
			AtMost("hot-key p99 during the fault", P99(Faulted, "hot"), 0.5*hotKeyLatency.Seconds(), Seconds))
	} else {
		x.Holds = append(x.Holds,
			AtMost("hot node's share of cluster commands during the fault", hotNodeShare(Faulted), 0.50, Percent),
			// a third of the reads still pay the slow link, but none queue
			// behind it: the hot node's share fits its connections at 10x
			AtMost("p99 during the fault (no pile-up behind the slow node)", P99(Faulted), 2*hotKeyLatency.Seconds(), Seconds))
	}
	return x
}

// productReads is GET /products/{id}.
func productReads(e *Env, name string, id func() int64) loadgen.Op {
	return &loadgen.HTTPOp{
		OpName: name,
		Method: http.MethodGet,
		Client: e.HTTP,
		URL: func(uint64) (string, string) {
			k := strconv.FormatInt(id(), 10)
			return e.APIURL + "/products/" + k, k
		},
	}
}

// warmProducts reads every product of the run once, so each run starts
// with the cluster holding them, as after hours of traffic.
func warmProducts(ctx context.Context, e *Env) error {
	g, gctx := errgroup.WithContext(ctx) // the first error cancels the other reads
	g.SetLimit(16)
	for id := int64(hotKeyID); id <= hotKeyID+hotColdKeys && gctx.Err() == nil; id++ {
		g.Go(func() error {
			return retryFor(gctx, 10*time.Second, func() error {
				req, err := http.NewRequestWithContext(gctx, http.MethodGet, fmt.Sprintf("%s/products/%d", e.APIURL, id), nil)
				if err != nil {
					return err
				}
				resp, err := e.HTTP.Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("GET /products/%d: %s", id, resp.Status)
				}
				return nil
			})
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err() // cancelled before every product was read
}

// slowHotNode finds the master owning the hot key from the cluster's own
// slot map and adds latency to that node's link.
func slowHotNode(e *Env) chaos.Fault {
	var inner chaos.Fault
	return chaos.Func(fmt.Sprintf("latency %v on the hot key's node", hotKeyLatency),
		func(ctx context.Context) error {
			node, err := nodeOfKey(ctx, e.Topology, "product:"+strconv.Itoa(hotKeyID))
			if err != nil {
				return err
			}
			e.Run.SetFact(hotNodeFact, float64(node))
			inner, err = chaos.Latency(e.Toxi, compose.ClusterLink(compose.RedisClusterNodes[node]), chaos.Downstream, hotKeyLatency, hotKeyJitter)
			if err != nil {
				return err
			}
			return inner.Inject(ctx)
		},
		func(ctx context.Context) error {
			if inner == nil {
				return nil
			}
			return inner.Recover(ctx)
		})
}

// nodeOfKey asks a cluster node (directly, as an operator) for the key's
// slot and the slot map, and returns the index of the master serving it.
// Masters announce their Toxiproxy link, so the port names the node.
func nodeOfKey(ctx context.Context, topo compose.Topology, key string) (int, error) {
	rdb := redis.NewClient(&redis.Options{Addr: compose.Addr(topo.Service(compose.RedisClusterNodes[0]).Port("main")), MaxRetries: -1})
	defer rdb.Close()
	slot, err := rdb.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return 0, fmt.Errorf("CLUSTER KEYSLOT %s: %w", key, err)
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("CLUSTER SLOTS: %w", err)
	}
	for _, r := range slots {
		if int64(r.Start) > slot || slot > int64(r.End) || len(r.Nodes) == 0 {
			continue
		}
		_, port, err := net.SplitHostPort(r.Nodes[0].Addr)
		if err != nil {
			return 0, fmt.Errorf("slot %d: node address %q: %w", slot, r.Nodes[0].Addr, err)
		}
		for i, n := range compose.RedisClusterNodes {
			if strconv.Itoa(topo.Link(compose.ClusterLink(n)).Listen) == port {
				return i, nil
			}
		}
		return 0, fmt.Errorf("slot %d is served at %s, which is no cluster link of the topology", slot, r.Nodes[0].Addr)
	}
	return 0, fmt.Errorf("slot %d of %s is not served", slot, key)
}

// nodeOps is each cluster node's command rate in a phase.
func nodeOps(r *Run, p Phase) ([]float64, error) {
	var out []float64
	for _, n := range compose.RedisClusterNodes {
		v, err := r.CounterRate(p, "cluster."+n+".ops")
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// hotNodeShare is the hot key's node's share of the cluster's commands.
func hotNodeShare(p Phase) Measure {
	return func(r *Run) (float64, error) {
		i, err := r.Fact(hotNodeFact)
		if err != nil {
			return 0, err
		}
		ops, err := nodeOps(r, p)
		if err != nil {
			return 0, err
		}
		total := 0.0
		for _, v := range ops {
			total += v
		}
		if total <= 0 || int(i) < 0 || int(i) >= len(ops) {
			return 0, fmt.Errorf("no cluster commands counted in the %s window", p)
		}
		return ops[int(i)] / total, nil
	}
}

// nodeSpread is the busiest node's command rate over the idlest's; a node
// that got nothing while another did is an infinite spread.
func nodeSpread(p Phase) Measure {
	return func(r *Run) (float64, error) {
		ops, err := nodeOps(r, p)
		if err != nil {
			return 0, err
		}
		lo, hi := math.Inf(1), 0.0
		for _, v := range ops {
			lo, hi = min(lo, v), max(hi, v)
		}
		switch {
		case hi <= 0:
			return 0, fmt.Errorf("no cluster commands counted in the %s window", p)
		case lo <= 0:
			return math.Inf(1), nil
		}
		return hi / lo, nil
	}
}

// p50 is the client's median latency in a phase, in seconds.
func p50(p Phase, ops ...string) Measure {
	return func(r *Run) (float64, error) {
		s, err := r.Client(p, ops...)
		return s.P50.Seconds(), err
	}
}
