// Package compose describes the system under test once — services, their
// ports and every service→dependency link — and hands that description to
// two backends: local processes (compose/local) and docker compose.
package compose

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

func itoa(n int) string { return strconv.Itoa(n) }

// PortSpan: every listener of a stack lives in [Base, Base+PortSpan), so
// two stacks with bases PortSpan apart never collide. Services' own ports
// are offsets below offProxy (their Spec says which); link listeners
// start at offProxy.
const (
	PortSpan = 200
	offProxy = 100
)

// specs is the topology: one line per service, each described in its own
// file (svc_*.go). The order is the compose file's and the link ports'.
var specs = []Spec{
	toxiproxy,
	api, app0, app1,
	redis,
	etcd, pg0, pg1,
	haproxy,
	pgbouncer,
	broker,
	rc0, rc1, rc2,
	worker,
	encoder,
	uploads,
	uploadsB,
	payments, cdc, cdcB,
	bookerA, bookerB,
	locks0, locks1, locks2,
	ebookerA, ebookerB,
}

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

// Service is one component of the system under test: its Spec with the
// ports resolved for one stack.
type Service struct {
	Spec
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

// Each service's name, and the names of the links it dials, are declared
// in its own file (svc_*.go), beside its Spec.

// Default is the reference topology with all listeners at base+offset.
func Default(base int) Topology {
	if base <= 0 {
		base = 15400
	}
	t := Topology{Base: base}
	for _, sp := range specs {
		ports := map[string]int{}
		for name, off := range sp.Offsets {
			ports[name] = base + off
		}
		t.Services = append(t.Services, Service{Spec: sp, Ports: ports})
	}
	for _, s := range t.Services {
		for _, d := range s.Dials {
			t.Links = append(t.Links, Link{
				Name: d.Link, From: s.Name, To: d.To, ToPort: d.Port,
				Listen: base + offProxy + len(t.Links), Upstream: t.Service(d.To).Port(d.Port),
			})
		}
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

// Select is the services a stack runs for the named ones: those plus, by
// Needs, everything they need, sorted. Toxiproxy is always part of a
// stack; nil names select every service.
func (t Topology) Select(names []string) ([]string, error) {
	want := map[string]bool{SvcToxiproxy: true}
	var add func(string) error
	add = func(n string) error {
		if want[n] {
			return nil
		}
		if !t.has(n) {
			return fmt.Errorf("compose: unknown service %q (known: %s)", n, strings.Join(t.ServiceNames(), ", "))
		}
		want[n] = true
		for _, d := range t.Service(n).Needs {
			if err := add(d); err != nil {
				return err
			}
		}
		return nil
	}
	if names == nil {
		names = t.ServiceNames()
	}
	for _, n := range names {
		if err := add(n); err != nil {
			return nil, err
		}
	}
	out := make([]string, 0, len(want))
	for n := range want {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func (t Topology) has(name string) bool {
	for _, s := range t.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}

// StartOrder lists names upstream first: each service after what it needs
// and what it is launched after (Spec.Needs, Spec.After) among names, the
// rest in topology order. Backends create services in this order and name
// the most upstream of several failures, which explains the others.
func (t Topology) StartOrder(names []string) []string {
	in := map[string]bool{}
	for _, n := range names {
		in[n] = true
	}
	done := map[string]bool{}
	var out []string
	var visit func(string)
	visit = func(n string) {
		if done[n] {
			return
		}
		done[n] = true // before its dependencies: the cluster nodes need each other
		for _, d := range slices.Concat(t.Service(n).Needs, t.Service(n).After) {
			if in[d] {
				visit(d)
			}
		}
		out = append(out, n)
	}
	for _, s := range t.Services { // topology order among equals
		if in[s.Name] {
			visit(s.Name)
		}
	}
	return out
}
