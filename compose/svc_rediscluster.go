package compose

import (
	"fmt"
	"slices"
	"strings"
)

// The Redis Cluster's masters (hot-key scenario).
const (
	SvcRC0 = "rc0"
	SvcRC1 = "rc1"
	SvcRC2 = "rc2"
)

// RedisClusterNodes are the masters of the Redis Cluster, in slot order:
// node i serves ClusterSlots(i, len).
var RedisClusterNodes = []string{SvcRC0, SvcRC1, SvcRC2}

// The hot-key scenario's Redis Cluster: three masters, no replicas. Each
// node announces its Toxiproxy link as its client address, so CLUSTER
// SLOTS and MOVED send clients through the proxy (a toxic on one link
// slows exactly that node), while the cluster bus goes node to node
// directly at the real bus port.
func clusterNode(name string, i int) Spec {
	var others []string
	for _, n := range RedisClusterNodes {
		if n != name {
			others = append(others, n)
		}
	}
	return Spec{
		Name:    name,
		Offsets: map[string]int{"main": 70 + i, "bus": 80 + i},
		// a node alone never reaches cluster_state:ok
		Needs:   others,
		Image:   ImageDebian,
		State:   true,
		Health:  Health{Kind: HealthCluster},
		Command: func(a Addressing) []string { return clusterNodeCommand(a, name) },
	}
}

var (
	rc0 = clusterNode(SvcRC0, 0)
	rc1 = clusterNode(SvcRC1, 1)
	rc2 = clusterNode(SvcRC2, 2)
)

// ClusterNodeTimeout is cluster-node-timeout in ms: short, so a handshake
// with a node that was not listening yet is retried soon.
const ClusterNodeTimeout = 2000

// clusterNodeArgs are one master's redis-server arguments.
func clusterNodeArgs(a Addressing, node string) []string {
	_, bus := SplitHostPort(a.Reach(node, "bus"))
	_, announce := SplitHostPort(a.Link(ClusterLink(node)))
	return append(redisServer(a, node),
		"--cluster-enabled", "yes",
		"--cluster-config-file", a.Dir(node)+"/nodes.conf",
		"--cluster-node-timeout", itoa(ClusterNodeTimeout),
		"--cluster-port", itoa(bus),
		"--cluster-announce-ip", a.Host(node),
		"--cluster-announce-port", itoa(announce),
		"--cluster-announce-bus-port", itoa(bus),
		// every node serves its slots alone: no full-coverage wait when a
		// test kills one
		"--cluster-require-full-coverage", "no",
	)
}

// clusterNodeCommand: locally the runner forms the cluster once the nodes
// answer (compose/local); in a container the node forms it from inside:
// once it answers it takes its slot range and MEETs the other masters
// until it knows all of them, so the compose file alone brings the
// cluster up. Clients there learn "toxiproxy:<link>" (announced hostname
// + port). After a restart nodes.conf holds the slots: ADDSLOTSRANGE
// fails, harmlessly.
func clusterNodeCommand(a Addressing, node string) []string {
	args := clusterNodeArgs(a, node)
	if a.Backend() != Docker {
		return args
	}
	host, _ := SplitHostPort(a.Link(ClusterLink(node)))
	args = append(args, "--cluster-announce-hostname", host, "--cluster-preferred-endpoint-type", "hostname")
	_, port := SplitHostPort(a.Listen(node, "main"))
	i := slices.Index(RedisClusterNodes, node)
	lo, hi := ClusterSlots(i, len(RedisClusterNodes))
	var meets []string
	for _, peer := range RedisClusterNodes {
		if peer != node {
			_, pp := SplitHostPort(a.Reach(peer, "main"))
			_, pb := SplitHostPort(a.Reach(peer, "bus"))
			meets = append(meets, fmt.Sprintf("redis-cli -p %d cluster meet %s %d %d >/dev/null;", port, a.Host(peer), pp, pb))
		}
	}
	return []string{"sh", "-c", fmt.Sprintf("mkdir -p %s && %s & pid=$!; "+
		"until redis-cli -p %d ping >/dev/null 2>&1; do sleep 0.1; done; "+
		"redis-cli -p %d cluster addslotsrange %d %d >/dev/null 2>&1; "+
		"until redis-cli -p %d cluster info | grep -q '^cluster_known_nodes:%d'; do %s sleep 0.5; done; "+
		"wait $pid",
		a.Dir(node), ShellQuote(args), port, port, lo, hi, port, len(RedisClusterNodes), strings.Join(meets, " "))}
}

// ShellQuote single-quotes each argument for sh -c.
func ShellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
	}
	return strings.Join(q, " ")
}

// ClusterSlotCount is the number of hash slots of a Redis Cluster.
const ClusterSlotCount = 16384

// ClusterSlots is the contiguous range [lo, hi] of hash slots that master i
// of n serves: the split `redis-cli --cluster create` makes.
func ClusterSlots(i, n int) (lo, hi int) {
	if n <= 0 || i < 0 || i >= n {
		panic(fmt.Sprintf("compose: cluster node %d of %d", i, n))
	}
	return i * ClusterSlotCount / n, (i+1)*ClusterSlotCount/n - 1
}

// ClusterLink is the api's Toxiproxy link to a cluster node: nodes announce
// it, so CLUSTER SLOTS and MOVED send clients through the proxy.
func ClusterLink(node string) string { return "api_" + node }

// IsClusterNode says whether svc is a Redis Cluster master.
func IsClusterNode(svc string) bool {
	for _, n := range RedisClusterNodes {
		if n == svc {
			return true
		}
	}
	return false
}
