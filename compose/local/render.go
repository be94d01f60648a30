package local

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/whatif-lab/whatif/compose"
)

// Everything here is a pure function of the topology and paths, so that
// tests can check that every port lands where the topology says.

func addr(port int) string { return compose.Addr(port) }

func etcdArgs(topo compose.Topology, dir string) []string {
	etcd := topo.Service(compose.SvcEtcd)
	peer := "http://" + addr(etcd.Port("peer"))
	name := fmt.Sprintf("etcd-%d", topo.Base)
	return []string{
		"--name", name,
		"--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://" + addr(etcd.Port("main")),
		// Clients (Patroni) only ever learn the proxy address.
		"--advertise-client-urls", "http://" + topo.LinkAddr(compose.LinkPatroniEtcd),
		"--listen-peer-urls", peer,
		"--initial-advertise-peer-urls", peer,
		"--initial-cluster", name + "=" + peer,
		"--initial-cluster-state", "new",
		"--initial-cluster-token", name,
		// Patroni speaks the v2 API: its leader key is a TTL key updated
		// with compare-and-swap on the owner's name. With the etcd3 client
		// (Patroni 3.0.2) a leader frozen by SIGSTOP retook the lock after
		// it woke up and the promoted node was rewound: acked writes lost.
		"--enable-v2=true",
		"--logger", "zap",
		"--log-outputs", "stderr",
	}
}

// patroniScope is the Patroni cluster name (also postgres' cluster_name,
// which shows in every backend's process title).
func patroniScope(topo compose.Topology) string { return fmt.Sprintf("whatif-%d", topo.Base) }

// patroniConfig renders one node's config as JSON, which Patroni's YAML
// loader reads as is; JSON quoting keeps paths safe.
func patroniConfig(topo compose.Topology, node, nodeDir, bootstrap string, t PatroniTimers) ([]byte, error) {
	svc := topo.Service(node)
	link := map[string]string{compose.SvcPG0: compose.LinkHAPG0, compose.SvcPG1: compose.LinkHAPG1}[node]
	if link == "" {
		return nil, fmt.Errorf("local: %q is not a patroni node", node)
	}
	trustLocal := []string{
		"local all all trust",
		"host all all 127.0.0.1/32 trust",
		"host replication all 127.0.0.1/32 trust",
	}
	cfg := map[string]any{
		"scope":     patroniScope(topo),
		"namespace": "/whatif/",
		"name":      node,
		"log":       map[string]any{"level": "INFO"},
		"restapi": map[string]any{
			"listen":          addr(svc.Port("rest")),
			"connect_address": addr(svc.Port("rest")),
		},
		// v2 API (see etcdArgs); Patroni dials the proxy, never etcd itself.
		"etcd": map[string]any{"host": topo.LinkAddr(compose.LinkPatroniEtcd)},
		"bootstrap": map[string]any{
			"dcs": map[string]any{
				"ttl":                     t.TTL,
				"loop_wait":               t.LoopWait,
				"retry_timeout":           t.RetryTimeout,
				"maximum_lag_on_failover": 1 << 20,
				"postgresql": map[string]any{
					"use_pg_rewind": true,
					// No slots: a primary_slot_name left over from the old
					// timeline breaks the old leader's rejoin (measured).
					"use_slots": false,
					"parameters": map[string]any{
						"wal_level":       "replica",
						"wal_log_hints":   "on",
						"hot_standby":     "on",
						"wal_keep_size":   "256MB",
						"max_wal_senders": 10,
						"max_connections": compose.PGMaxConnections,
						// A standby whose WAL source failed retries after 5 s by
						// default: that dominated rejoin after pg_rewind.
						"wal_retrieve_retry_interval": "500ms",
					},
				},
			},
			// A copy of the template that Start initialised meanwhile.
			"method":   "template",
			"template": map[string]any{"command": bootstrap, "no_params": true},
		},
		"postgresql": map[string]any{
			"listen":          addr(svc.Port("main")),
			"connect_address": topo.LinkAddr(link), // replication and HAProxy reach it through Toxiproxy
			"data_dir":        filepath.Join(nodeDir, "data"),
			"bin_dir":         pgBinDir,
			"pgpass":          filepath.Join(nodeDir, "pgpass"),
			"authentication": map[string]any{
				"superuser":   map[string]any{"username": "postgres"},
				"replication": map[string]any{"username": "postgres"},
				"rewind":      map[string]any{"username": "postgres"},
			},
			"pg_hba": trustLocal,
			// The last resort of a rejoin: when the old leader's timeline has
			// diverged and pg_rewind cannot run (seen under compose: Patroni
			// started it as a replica on the old timeline, Postgres refused
			// "timeline 2 is not a child of this server's history" forever),
			// wipe the data dir and clone it again from the leader.
			"remove_data_directory_on_rewind_failure":     true,
			"remove_data_directory_on_diverged_timelines": true,
			// A fast checkpoint and no fsync of the copy: a replica is
			// cloned in well under a second instead of a few.
			"basebackup": []any{map[string]any{"checkpoint": "fast"}, "no-sync"},
			"parameters": map[string]any{
				"unix_socket_directories": nodeDir,
				// every autovacuum in the log: one landing mid-fault is a
				// latency spike an experiment must be able to explain
				"log_autovacuum_min_duration": 0,
			},
		},
		// No kernel watchdog here. Patroni still checks its timing on every
		// cycle as leader and, with the default safety margin of 5 s > ttl,
		// logs a warning each time; margin -1 (= ttl/2) keeps the log quiet.
		"watchdog": map[string]any{"mode": "off", "safety_margin": -1},
		"tags":     map[string]any{"nofailover": false, "noloadbalance": false, "clonefrom": false, "nosync": false},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// haproxyConfig routes writes to the Patroni leader and reads to the
// replica (leader as backup). Servers are the pg nodes' Toxiproxy links;
// checks go straight to each node's Patroni REST port. OPTIONS, not GET:
// GET floods Patroni's log.
func haproxyConfig(topo compose.Topology) string {
	ha := topo.Service(compose.SvcHAProxy)
	type node struct{ name, link string }
	nodes := []node{{compose.SvcPG0, compose.LinkHAPG0}, {compose.SvcPG1, compose.LinkHAPG1}}
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
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
	// on-marked-down shutdown-sessions cuts sessions to a demoted leader:
	// that is what prevented split-brain writes in the measured SIGSTOP case.
	w("  default-server inter 500ms fastinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions")
	w("")
	w("frontend pg_write_in")
	w("  bind %s", addr(ha.Port("main")))
	w("  default_backend pg_write")
	w("")
	w("backend pg_write")
	w("  option httpchk OPTIONS /primary")
	w("  http-check expect status 200")
	for _, n := range nodes {
		w("  server %s %s check port %d", n.name, topo.LinkAddr(n.link), topo.Service(n.name).Port("rest"))
	}
	w("")
	w("frontend pg_read_in")
	w("  bind %s", addr(ha.Port("read")))
	w("  default_backend pg_read")
	w("")
	w("backend pg_read")
	w("  option httpchk OPTIONS /replica")
	w("  http-check expect status 200")
	for _, n := range nodes {
		w("  server %s %s check port %d on-marked-up shutdown-backup-sessions", n.name, topo.LinkAddr(n.link), topo.Service(n.name).Port("rest"))
	}
	// The leader serves reads only while no replica is up.
	for _, n := range nodes {
		w("  server %s_leader %s backup track pg_write/%s", n.name, topo.LinkAddr(n.link), n.name)
	}
	w("")
	b.WriteString(compose.AppsBalancer(addr(ha.Port("apps")), topo.LinkAddr))
	w("")
	w("frontend stats")
	w("  bind %s", addr(ha.Port("stats")))
	w("  mode http")
	w("  timeout client 10s")
	w("  monitor-uri /health")
	w("  stats enable")
	w("  stats uri /stats")
	return b.String()
}

func pgbouncerConfig(topo compose.Topology, dir string) string {
	up := topo.Link(compose.LinkBouncerPG)
	return strings.Join([]string{
		"[databases]",
		fmt.Sprintf("* = host=127.0.0.1 port=%d", up.Listen),
		"",
		"[pgbouncer]",
		"listen_addr = 127.0.0.1",
		fmt.Sprintf("listen_port = %d", topo.Service(compose.SvcPgBouncer).Port("main")),
		"unix_socket_dir =",
		"auth_type = trust",
		"auth_file = " + filepath.Join(dir, "userlist.txt"),
		"admin_users = postgres",
		"pool_mode = transaction",
		"max_client_conn = 2000",
		"default_pool_size = 20",
		// After a failover a failed login would otherwise block new
		// logins for 15 s.
		"server_login_retry = 1",
		"ignore_startup_parameters = extra_float_digits",
		// One line per client login would flood the log at 10x load.
		"log_connections = 0",
		"log_disconnections = 0",
		"",
	}, "\n")
}

// pgbouncerUsers is the auth_file: with auth_type trust a user must still
// be listed.
const pgbouncerUsers = "\"postgres\" \"\"\n"

func redisArgs(topo compose.Topology, dir string) []string {
	return redisServerArgs(topo.Service(compose.SvcRedis).Port("main"), dir)
}

// redisServerArgs runs a redis-server on loopback in the foreground, with
// no persistence: the cache and the cluster nodes alike.
func redisServerArgs(port int, dir string) []string {
	return []string{
		"--port", fmt.Sprint(port),
		"--bind", "127.0.0.1",
		"--protected-mode", "no",
		"--save", "",
		"--appendonly", "no",
		"--dir", dir,
		"--daemonize", "no",
		"--logfile", "",
	}
}

func brokerArgs(topo compose.Topology, dir string) []string {
	return []string{
		"--listen", addr(topo.Service(compose.SvcBroker).Port("main")),
		"--advertise", topo.LinkAddr(compose.LinkBroker),
		"--data-dir", dir,
		"--partitions", fmt.Sprint(compose.BrokerPartitions),
	}
}

func pgURL(hostport string) string {
	return "postgres://postgres@" + hostport + "/postgres?sslmode=disable"
}

// apiDirectPG lists the api's own links to the pg nodes, if the topology
// has them: a multi-host DSN that bypasses HAProxy (when db_proxy is off).
func apiDirectPG(topo compose.Topology) []string {
	var hosts []string
	for _, l := range topo.Links {
		if l.From == compose.SvcAPI && (l.To == compose.SvcPG0 || l.To == compose.SvcPG1) {
			hosts = append(hosts, compose.Addr(l.Listen))
		}
	}
	return hosts
}

// apiArgs is the api's command line; it also runs the checkout workers
// that apply queued checkouts (the app instances only serve exports).
func apiArgs(topo compose.Topology, extra []string) []string {
	return apiArgsFor(topo, compose.SvcAPI, append([]string{"--checkout-workers", fmt.Sprint(compose.CheckoutWorkers)}, extra...))
}

// appArgs is an app instance's command line: the api's, on its own port,
// keeping its switches in its directory across restarts.
func appArgs(topo compose.Topology, svc, dir string, extra []string) []string {
	return apiArgsFor(topo, svc, append([]string{"--state-file", filepath.Join(dir, "state.json")}, extra...))
}

// apiArgsFor is the command line of an api process listening as svc. App
// instances share the api's links: to the dependencies they are the api.
func apiArgsFor(topo compose.Topology, svc string, extra []string) []string {
	args := []string{
		"--listen", addr(topo.Service(svc).Port("main")),
		"--redis", topo.LinkAddr(compose.LinkRedis),
		"--pg-primary", pgURL(topo.LinkAddr(compose.LinkPrimary)),
		"--pg-replica", pgURL(topo.LinkAddr(compose.LinkReplica)),
		"--pgbouncer", pgURL(topo.LinkAddr(compose.LinkPgBouncer)),
		"--broker", topo.LinkAddr(compose.LinkBroker),
	}
	if nodes := apiClusterSeeds(topo, topo.LinkAddr); nodes != "" {
		args = append(args, "--redis-cluster", nodes)
	}
	if hosts := apiDirectPG(topo); len(hosts) > 0 {
		args = append(args, "--pg-direct", "postgres://postgres@"+strings.Join(hosts, ",")+
			"/postgres?sslmode=disable&target_session_attrs=read-write")
	}
	return append(args, extra...)
}

// apiClusterSeeds is the api's --redis-cluster value: name=link address of
// every cluster node the topology has ("" if none). The nodes announce the
// same addresses, so the api can name the node of every command.
func apiClusterSeeds(topo compose.Topology, linkAddr func(link string) string) string {
	var seeds []string
	for _, l := range topo.Links {
		if l.From == compose.SvcAPI && compose.IsClusterNode(l.To) {
			seeds = append(seeds, l.To+"="+linkAddr(l.Name))
		}
	}
	return strings.Join(seeds, ",")
}
