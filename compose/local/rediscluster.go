package local

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/whatif-lab/whatif/compose"
)

// The hot-key scenario's Redis Cluster: three masters, no replicas. Each
// node announces its Toxiproxy link as its client address, so CLUSTER
// SLOTS and MOVED send clients through the proxy (a toxic on one link slows
// exactly that node), while the cluster bus goes node to node directly at
// the real bus port.

// respDo sends one command on a fresh connection and returns the reply as
// text: simple strings, integers and bulk strings; an error reply is an
// error. Like redisPing it avoids go-redis, which logs dial failures.
func respDo(ctx context.Context, hostport string, args ...string) (string, error) {
	conn, err := dialDeadline(ctx, hostport)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(conn))
}

// readReply reads one RESP2 reply of a non-array type.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("redis reply: %w", err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("redis reply: empty line")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < -1 {
			return "", fmt.Errorf("redis reply: bad bulk length %q", line)
		}
		if n == -1 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("redis reply: %w", err)
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("redis reply: unsupported type %q", line[:1])
}

// infoField reads "name:value" from an INFO-style text.
func infoField(info, name string) string {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
			return v
		}
	}
	return ""
}

// clusterNodeHealthy: the node answers and sees the whole cluster as ok
// (every slot served, every master known).
func clusterNodeHealthy(ctx context.Context, hostport string, masters int) (string, error) {
	info, err := respDo(ctx, hostport, "CLUSTER", "INFO")
	if err != nil {
		return "", err
	}
	state, known := infoField(info, "cluster_state"), infoField(info, "cluster_known_nodes")
	if state != "ok" || known != strconv.Itoa(masters) {
		return "", fmt.Errorf("cluster_state %q, %s known nodes of %d", state, known, masters)
	}
	return "slots " + infoField(info, "cluster_slots_assigned"), nil
}

// clusterPeer is how a node reaches another over the cluster bus.
type clusterPeer struct {
	IP         string
	Port, Bus  int
	SlotsLo    int
	SlotsHi    int
	ClientAddr string // where the operator (health check) dials it
}

// clusterPeers lists every master of the topology with its slot range;
// ip gives the address the nodes use for each other.
func clusterPeers(topo compose.Topology, ip func(node string) string, client func(node string) string) []clusterPeer {
	var out []clusterPeer
	n := len(compose.RedisClusterNodes)
	for i, node := range compose.RedisClusterNodes {
		svc := topo.Service(node)
		lo, hi := compose.ClusterSlots(i, n)
		out = append(out, clusterPeer{IP: ip(node), Port: svc.Port("main"), Bus: svc.Port("bus"),
			SlotsLo: lo, SlotsHi: hi, ClientAddr: client(node)})
	}
	return out
}

// formClusterStep moves node self one step toward the formed cluster and
// is safe to repeat: it assigns the node's own slots if it serves none and,
// while it knows fewer than all masters, asks it to MEET the others. Run
// from the health check, it is retried until the cluster is ok.
func formClusterStep(ctx context.Context, self int, peers []clusterPeer) error {
	me := peers[self]
	nodes, err := respDo(ctx, me.ClientAddr, "CLUSTER", "NODES")
	if err != nil {
		return err
	}
	known, mySlots := 0, false
	for _, l := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			continue
		}
		known++
		if slices.Contains(strings.Split(f[2], ","), "myself") && len(f) > 8 {
			mySlots = true
		}
	}
	if !mySlots {
		if _, err := respDo(ctx, me.ClientAddr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(me.SlotsLo), strconv.Itoa(me.SlotsHi)); err != nil {
			return fmt.Errorf("assigning slots %d-%d: %w", me.SlotsLo, me.SlotsHi, err)
		}
	}
	if known < len(peers) {
		for i, p := range peers {
			if i == self {
				continue
			}
			// a handshake already in progress makes MEET fail: harmless
			_, _ = respDo(ctx, me.ClientAddr, "CLUSTER", "MEET", p.IP, strconv.Itoa(p.Port), strconv.Itoa(p.Bus))
		}
	}
	return nil
}

// formingCluster wraps a cluster node's probe: while the node is not yet
// healthy, each check also takes one formation step (local mode forms the
// cluster from its health checks; nodes reach each other on loopback).
func formingCluster(topo compose.Topology, node string, probe func(context.Context) (string, error)) func(context.Context) (string, error) {
	self := slices.Index(compose.RedisClusterNodes, node)
	peers := clusterPeers(topo,
		func(string) string { return "127.0.0.1" },
		func(n string) string { return addr(topo.Service(n).Port("main")) })
	return func(ctx context.Context) (string, error) {
		if d, err := probe(ctx); err == nil {
			return d, nil
		}
		if err := formClusterStep(ctx, self, peers); err != nil {
			return "", err
		}
		return probe(ctx)
	}
}
