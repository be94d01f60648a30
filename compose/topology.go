// Package compose describes the system under test once — services, their
// ports and every service→dependency link — and hands that description to
// two backends: local processes (compose/local) and docker compose.
package compose

import (
	"fmt"
	"sort"
)

// Port offsets from Topology.Base. Every listener of a stack lives in
// [Base, Base+PortSpan), so two stacks with bases PortSpan apart never collide.
const (
	PortSpan = 200

	offToxiproxy = 0   // toxiproxy HTTP API (embedded in the runner)
	offAPI       = 1   // services/api HTTP
	offApp0      = 2   // services/api instance app0 (behind haproxy "apps")
	offApp1      = 3   // services/api instance app1
	offRedis     = 10  // redis-server
	offEtcd      = 20  // etcd client
	offEtcdPeer  = 21  // etcd peer
	offPG0       = 30  // postgres of patroni node pg0
	offPG0Rest   = 31  // patroni REST of pg0
	offPG1       = 32  // postgres of patroni node pg1
	offPG1Rest   = 33  // patroni REST of pg1
	offHAWrite   = 40  // haproxy: leader only (OPTIONS /primary)
	offHARead    = 41  // haproxy: any running node (OPTIONS /read-only)
	offHAStats   = 42  // haproxy stats / health
	offHAApps    = 43  // haproxy: HTTP load balancer over the app instances
	offPgBouncer = 50  // pgbouncer
	offBroker    = 60  // services/broker (kfake)
	offRC        = 70  // redis cluster node i at offRC+i (hot-key scenario)
	offRCBus     = 80  // its cluster bus at offRCBus+i
	offProxy     = 100 // toxiproxy listeners start here
)

// PGMaxConnections is Postgres' max_connections on both backends: a small
// database, so that the traffic-spike experiment's unpooled checkouts can
// exhaust it.
const PGMaxConnections = 100

// BrokerPartitions is the partitions of the broker's topics, and
// CheckoutWorkers the consumers of queued checkouts the api runs: one per
// partition. Six, not three: a worker waits on the row lock of its
// checkout's item, and with two hot items three workers kept the items
// busy only ~70% of the time (two often waited for the same row).
const (
	BrokerPartitions = 6
	CheckoutWorkers  = BrokerPartitions
)

// AppMemLimit is the memory limit of each app instance on both backends
// (a cgroup locally, the container's limit under Docker): past it the
// kernel's OOM killer ends the process, and its supervisor restarts it.
const AppMemLimit = 256 << 20

// Service is one component of the system under test.
type Service struct {
	Name  string         // "redis", "pg0", ...
	Ports map[string]int // named listeners: "main", "rest", "peer", "read", "stats"
}

// Port returns the named port of the service; it panics on a name the
// topology does not define, which is a programming error.
func (s Service) Port(name string) int {
	p, ok := s.Ports[name]
	if !ok {
		panic(fmt.Sprintf("compose: service %s has no port %q", s.Name, name))
	}
	return p
}

// Link is a Toxiproxy proxy on one service→dependency edge. Clients dial
// Listen; the proxy forwards to Upstream's named port.
type Link struct {
	Name     string // toxiproxy proxy name
	From     string // dialing service
	To       string // upstream service
	ToPort   string // upstream's named port
	Listen   int    // proxy listen port
	Upstream int    // resolved upstream port
}

// Topology is the whole system under test for one stack.
type Topology struct {
	Base     int
	Services []Service
	Links    []Link
}

// Service names, shared by both backends and the chaos plane.
const (
	SvcAPI       = "api"
	SvcRedis     = "redis"
	SvcEtcd      = "etcd"
	SvcPG0       = "pg0"
	SvcPG1       = "pg1"
	SvcHAProxy   = "haproxy"
	SvcPgBouncer = "pgbouncer"
	SvcBroker    = "broker"
	SvcToxiproxy = "toxiproxy"
	SvcRC0       = "rc0" // redis cluster masters (hot-key scenario)
	SvcRC1       = "rc1"
	SvcRC2       = "rc2"
	// App instances: the api binary again, behind HAProxy's "apps" port,
	// each under AppMemLimit and restarted when it dies (app-oom).
	SvcApp0 = "app0"
	SvcApp1 = "app1"
)

// AppInstances are the API instances behind the load balancer.
var AppInstances = []string{SvcApp0, SvcApp1}

// RedisClusterNodes are the masters of the Redis Cluster, in slot order:
// node i serves ClusterSlots(i, len).
var RedisClusterNodes = []string{SvcRC0, SvcRC1, SvcRC2}

// Link names (toxiproxy proxy names).
const (
	LinkRedis       = "api_redis"      // api -> redis
	LinkPrimary     = "api_pg_primary" // api -> haproxy write (leader)
	LinkReplica     = "api_pg_replica" // api -> haproxy read
	LinkPgBouncer   = "api_pgbouncer"  // api -> pgbouncer
	LinkBroker      = "api_broker"     // api -> broker
	LinkBouncerPG   = "pgbouncer_pg"   // pgbouncer -> haproxy write
	LinkHAPG0       = "haproxy_pg0"    // haproxy and replication -> pg0
	LinkHAPG1       = "haproxy_pg1"    // haproxy and replication -> pg1
	LinkPatroniEtcd = "patroni_etcd"   // patroni -> etcd
	LinkAPIPG0      = "api_pg0"        // api -> pg0 directly (writes when db_proxy is off)
	LinkAPIPG1      = "api_pg1"        // api -> pg1 directly
	LinkLBApp0      = "lb_app0"        // haproxy (apps) -> app0
	LinkLBApp1      = "lb_app1"        // haproxy (apps) -> app1
	LinkRC0         = "api_rc0"        // api -> redis cluster node rc0
	LinkRC1         = "api_rc1"        // api -> rc1
	LinkRC2         = "api_rc2"        // api -> rc2
)

// Default is the reference topology with all listeners at base+offset.
func Default(base int) Topology {
	if base <= 0 {
		base = 15400
	}
	p := func(off int) int { return base + off }
	t := Topology{Base: base}
	t.Services = []Service{
		{Name: SvcToxiproxy, Ports: map[string]int{"main": p(offToxiproxy)}},
		{Name: SvcAPI, Ports: map[string]int{"main": p(offAPI)}},
		{Name: SvcApp0, Ports: map[string]int{"main": p(offApp0)}},
		{Name: SvcApp1, Ports: map[string]int{"main": p(offApp1)}},
		{Name: SvcRedis, Ports: map[string]int{"main": p(offRedis)}},
		{Name: SvcEtcd, Ports: map[string]int{"main": p(offEtcd), "peer": p(offEtcdPeer)}},
		{Name: SvcPG0, Ports: map[string]int{"main": p(offPG0), "rest": p(offPG0Rest)}},
		{Name: SvcPG1, Ports: map[string]int{"main": p(offPG1), "rest": p(offPG1Rest)}},
		{Name: SvcHAProxy, Ports: map[string]int{"main": p(offHAWrite), "read": p(offHARead), "stats": p(offHAStats), "apps": p(offHAApps)}},
		{Name: SvcPgBouncer, Ports: map[string]int{"main": p(offPgBouncer)}},
		{Name: SvcBroker, Ports: map[string]int{"main": p(offBroker)}},
	}
	for i, n := range RedisClusterNodes {
		t.Services = append(t.Services, Service{Name: n, Ports: map[string]int{"main": p(offRC + i), "bus": p(offRCBus + i)}})
	}
	links := []struct{ name, from, to, port string }{
		{LinkRedis, SvcAPI, SvcRedis, "main"},
		{LinkPrimary, SvcAPI, SvcHAProxy, "main"},
		{LinkReplica, SvcAPI, SvcHAProxy, "read"},
		{LinkPgBouncer, SvcAPI, SvcPgBouncer, "main"},
		{LinkBroker, SvcAPI, SvcBroker, "main"},
		{LinkBouncerPG, SvcPgBouncer, SvcHAProxy, "main"},
		{LinkHAPG0, SvcHAProxy, SvcPG0, "main"},
		{LinkHAPG1, SvcHAProxy, SvcPG1, "main"},
		{LinkPatroniEtcd, SvcPG0, SvcEtcd, "main"},
		{LinkAPIPG0, SvcAPI, SvcPG0, "main"},
		{LinkAPIPG1, SvcAPI, SvcPG1, "main"},
		{LinkLBApp0, SvcHAProxy, SvcApp0, "main"},
		{LinkLBApp1, SvcHAProxy, SvcApp1, "main"},
		{LinkRC0, SvcAPI, SvcRC0, "main"},
		{LinkRC1, SvcAPI, SvcRC1, "main"},
		{LinkRC2, SvcAPI, SvcRC2, "main"},
	}
	for i, l := range links {
		t.Links = append(t.Links, Link{
			Name: l.name, From: l.from, To: l.to, ToPort: l.port,
			Listen: p(offProxy + i), Upstream: t.Service(l.to).Port(l.port),
		})
	}
	return t
}

// Service returns the named service; it panics on an unknown name.
func (t Topology) Service(name string) Service {
	for _, s := range t.Services {
		if s.Name == name {
			return s
		}
	}
	panic(fmt.Sprintf("compose: unknown service %q", name))
}

// Link returns the named link; it panics on an unknown name.
func (t Topology) Link(name string) Link {
	for _, l := range t.Links {
		if l.Name == name {
			return l
		}
	}
	panic(fmt.Sprintf("compose: unknown link %q", name))
}

// Addr is "127.0.0.1:port" — every local listener binds loopback only.
func Addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// LinkAddr is where a client of the named link dials (the proxy).
func (t Topology) LinkAddr(name string) string { return Addr(t.Link(name).Listen) }

// LinksTo lists the links whose upstream is the named service: every path
// into it, which a "host down" fault cuts together.
func (t Topology) LinksTo(svc string) []Link {
	var ls []Link
	for _, l := range t.Links {
		if l.To == svc {
			ls = append(ls, l)
		}
	}
	return ls
}

// ServiceNames lists services in a stable order.
func (t Topology) ServiceNames() []string {
	var n []string
	for _, s := range t.Services {
		n = append(n, s.Name)
	}
	sort.Strings(n)
	return n
}
