package compose

import (
	"fmt"
	"strings"
)

const (
	SvcHAProxy = "haproxy"

	LinkHAPG0  = "haproxy_pg0" // haproxy -> pg0
	LinkHAPG1  = "haproxy_pg1" // haproxy -> pg1
	LinkLBApp0 = "lb_app0"     // haproxy (apps) -> app0
	LinkLBApp1 = "lb_app1"     // haproxy (apps) -> app1
)

// haproxy routes writes to the Patroni leader and reads to the replica
// (leader as backup), and balances HTTP over the app instances.
var haproxy = Spec{
	Name:    SvcHAProxy,
	Offsets: map[string]int{"main": 40, "read": 41, "stats": 42, "apps": 43},
	Dials: []Dial{
		{LinkHAPG0, SvcPG0, "main"},
		{LinkHAPG1, SvcPG1, "main"},
		{LinkLBApp0, SvcApp0, "main"},
		{LinkLBApp1, SvcApp1, "main"},
	},
	Needs:  []string{SvcPG0, SvcPG1},
	Image:  ImageDebian,
	Health: Health{Kind: HealthHAProxy},
	Command: func(a Addressing) []string {
		return []string{"haproxy", "-db", "-f", ConfigFile(a, SvcHAProxy, "haproxy.cfg")}
	},
	Files: func(a Addressing) map[string]string { return map[string]string{"haproxy.cfg": haproxyConfig(a)} },
}

// haproxyConfig: servers are the pg nodes' Toxiproxy links; checks go
// straight to each node's Patroni REST port (at its address: HAProxy
// resolves names once at start). OPTIONS, not GET: GET floods Patroni's log.
func haproxyConfig(a Addressing) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	check := func(node string) string {
		_, rest := SplitHostPort(a.Reach(node, "rest"))
		return fmt.Sprintf("check addr %s port %d", a.Host(node), rest)
	}
	w("global")
	w("  maxconn 4096")
	w("")
	w("defaults")
	w("  mode tcp")
	w("  option dontlognull")
	w("  timeout connect 2s")
	w("  timeout client 1h")
	w("  timeout server 1h")
	w("  timeout check 1s")
	w("  default-server inter 500ms fastinter 250ms fall 2 rise 1")
	w("")
	w("frontend pg_write_in")
	w("  bind %s", a.Listen(SvcHAProxy, "main"))
	w("  default_backend pg_write")
	w("")
	w("backend pg_write")
	w("  option httpchk OPTIONS /primary")
	w("  http-check expect status 200")
	// on-marked-down shutdown-sessions cuts sessions to a demoted leader:
	// that is what prevented split-brain writes in the measured SIGSTOP case.
	for _, n := range PGNodes {
		w("  server %s %s %s on-marked-down shutdown-sessions", n.Name, a.Link(n.Link), check(n.Name))
	}
	w("")
	w("frontend pg_read_in")
	w("  bind %s", a.Listen(SvcHAProxy, "read"))
	w("  default_backend pg_read")
	w("")
	w("backend pg_read")
	// a replica's Patroni answers its check from a Postgres query; at
	// the lowest CPU weight (slow-query's replica on its own host) that
	// took over 1 s under peak load, and at 1 s HAProxy marked a healthy
	// replica down, cut the report pool's sessions and sent reports to
	// the leader. A dead or promoted replica still fails at once.
	w("  timeout check 3s")
	w("  option httpchk OPTIONS /replica")
	w("  http-check expect status 200")
	for _, n := range PGNodes {
		w("  server %s %s %s on-marked-up shutdown-backup-sessions", n.Name, a.Link(n.Link), check(n.Name))
	}
	// No session is cut when a replica goes down: a promoted replica still
	// answers its reads (cutting them cost 1.5-3 s of retried reads at
	// every promotion), and a dead one's sessions fail by themselves. The
	// leader serves reads only while no replica is up, and loses them when
	// it stops leading: a frozen leader's sessions would hang, not fail.
	for _, n := range PGNodes {
		w("  server %s_leader %s backup track pg_write/%s on-marked-down shutdown-sessions", n.Name, a.Link(n.Link), n.Name)
	}
	w("")
	b.WriteString(AppsBalancer(a.Listen(SvcHAProxy, "apps"), a.Link))
	w("")
	w("frontend stats")
	w("  bind %s", a.Listen(SvcHAProxy, "stats"))
	w("  mode http")
	w("  timeout client 10s")
	w("  monitor-uri /health")
	w("  stats enable")
	w("  stats uri /stats")
	return b.String()
}

// AppLink is the load balancer's link to an app instance.
func AppLink(svc string) string {
	return map[string]string{SvcApp0: LinkLBApp0, SvcApp1: LinkLBApp1}[svc]
}

// AppsBalancer is HAProxy's HTTP load balancer over the app instances, the
// same on both backends: round robin over the instances' links, a dead
// instance out of rotation after two failed health checks (~1 s) and back
// after two good ones; a request whose connection is refused is retried
// once on the other instance, as load balancers do. bind is the listen
// address, linkAddr resolves a link to the address HAProxy dials.
func AppsBalancer(bind string, linkAddr func(link string) string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("frontend apps_in")
	w("  bind %s", bind)
	w("  mode http")
	w("  timeout client 30s")
	w("  default_backend apps")
	w("")
	w("backend apps")
	w("  mode http")
	w("  balance roundrobin")
	w("  timeout server 30s")
	w("  retries 1")
	w("  option redispatch")
	w("  option httpchk GET /health")
	w("  http-check expect status 200")
	for _, svc := range AppInstances {
		w("  server %s %s check inter 500ms fall 2 rise 2", svc, linkAddr(AppLink(svc)))
	}
	return b.String()
}
