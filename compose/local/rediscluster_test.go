package local

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/compose"
)

// baseCluster is this package's test base for the Redis Cluster.
const baseCluster = 17600

func TestClusterSlotsCoverAll(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		next := 0
		for i := range n {
			lo, hi := compose.ClusterSlots(i, n)
			if lo != next || hi < lo {
				t.Fatalf("n=%d node %d: [%d,%d], want to start at %d", n, i, lo, hi, next)
			}
			next = hi + 1
		}
		if next != compose.ClusterSlotCount {
			t.Errorf("n=%d: slots end at %d", n, next)
		}
	}
}

func TestRedisClusterArgsAnnounceTheProxy(t *testing.T) {
	topo := compose.Default(17000)
	for _, node := range compose.RedisClusterNodes {
		cmd, _ := rendered(t, topo, DefaultPatroniTimers)
		args := strings.Join(cmd(node), " ")
		svc, link := topo.Service(node), topo.Link(compose.ClusterLink(node))
		for _, want := range []string{
			fmt.Sprintf("--port %d", svc.Port("main")),
			fmt.Sprintf("--cluster-port %d", svc.Port("bus")),
			"--cluster-announce-ip 127.0.0.1",
			fmt.Sprintf("--cluster-announce-port %d", link.Listen),
			fmt.Sprintf("--cluster-announce-bus-port %d", svc.Port("bus")),
		} {
			if !strings.Contains(args, want) {
				t.Errorf("%s: args lack %q: %s", node, want, args)
			}
		}
		if link.Upstream != svc.Port("main") || link.From != compose.SvcAPI {
			t.Errorf("%s: link %+v does not lead from the api to the node", node, link)
		}
	}
	cmd, _ := rendered(t, topo, DefaultPatroniTimers)
	if got, want := argAfter(cmd(compose.SvcAPI), "--redis-cluster"), fmt.Sprintf("rc0=127.0.0.1:%d,rc1=127.0.0.1:%d,rc2=127.0.0.1:%d",
		topo.Link(compose.LinkRC0).Listen, topo.Link(compose.LinkRC1).Listen, topo.Link(compose.LinkRC2).Listen); got != want {
		t.Errorf("seeds %q, want %q", got, want)
	}
}

func TestReadReply(t *testing.T) {
	cases := []struct {
		in, want string
		err      bool
	}{
		{"+OK\r\n", "OK", false},
		{":42\r\n", "42", false},
		{"$5\r\nhello\r\n", "hello", false},
		{"$-1\r\n", "", false},
		{"-ERR nope\r\n", "", true},
		{"*1\r\n", "", true},
		{"$9\r\nshort\r\n", "", true},
	}
	for _, c := range cases {
		got, err := readReply(bufioReader(c.in))
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%q -> %q, %v", c.in, got, err)
		}
	}
}

// TestRedisCluster forms the three-master cluster and checks that clients
// learn only the proxies' addresses.
func TestRedisCluster(t *testing.T) {
	requireDebian(t)
	topo := compose.Default(baseCluster)
	began := time.Now()
	s, err := Start(context.Background(), Config{Topology: topo, Only: []string{compose.SvcRC0}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	t.Logf("cluster formed in %v", time.Since(began).Round(time.Millisecond))
	if got := s.Services(); !slices.Equal(got, compose.RedisClusterNodes) {
		t.Fatalf("services %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var seeds []string
	for _, n := range compose.RedisClusterNodes {
		seeds = append(seeds, topo.LinkAddr(compose.ClusterLink(n)))
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
	defer rdb.Close()
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(slots) != len(compose.RedisClusterNodes) {
		t.Fatalf("%d slot ranges: %+v", len(slots), slots)
	}
	for i, n := range compose.RedisClusterNodes {
		lo, hi := compose.ClusterSlots(i, len(compose.RedisClusterNodes))
		want := topo.LinkAddr(compose.ClusterLink(n))
		if !slices.ContainsFunc(slots, func(sl redis.ClusterSlot) bool {
			return sl.Start == lo && sl.End == hi && len(sl.Nodes) == 1 && sl.Nodes[0].Addr == want
		}) {
			t.Errorf("slots %d-%d not served by %s (the proxy of %s): %+v", lo, hi, want, n, slots)
		}
	}
	// a killed master comes back with its slots (nodes.conf in its dir)
	// and the cluster is whole again when Start returns
	if err := s.Controller().Kill(ctx, compose.SvcRC1); err != nil {
		t.Fatal(err)
	}
	if err := s.Controller().Start(ctx, compose.SvcRC1); err != nil {
		t.Fatal(err)
	}
	for _, n := range compose.RedisClusterNodes {
		probe, _ := Probe(topo, n)
		if err := awaitHealthy(ctx, nil, func(ctx context.Context) error { _, err := probe(ctx); return err }); err != nil {
			t.Fatalf("%s after rc1's restart: %v", n, err)
		}
	}
	for i := range 100 {
		k := fmt.Sprintf("k%d", i)
		if err := rdb.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if v, err := rdb.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("GET %s = %v, %v", k, v, err)
		}
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
