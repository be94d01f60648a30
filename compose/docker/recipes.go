package docker

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/whatif-lab/whatif/compose"
)

// The configs below mirror compose/local/render.go line for line; only the
// addresses differ. Inside the network every service listens on 0.0.0.0 at
// its topology port, dials its dependencies at toxiproxy:<link listen>, and
// advertises the proxy address, never its own: in both backends a client
// only ever learns the Toxiproxy address of a dependency.

// PatroniTimers are Patroni's DCS timers in seconds (LoopWait +
// 2*RetryTimeout <= TTL); the same defaults as local mode.
type PatroniTimers struct{ TTL, LoopWait, RetryTimeout int }

// DefaultPatroniTimers: a killed leader is replaced in about ttl.
var DefaultPatroniTimers = PatroniTimers{TTL: 5, LoopWait: 1, RetryTimeout: 2}

// dataRoot is where every service keeps state, on its own volume
// (Container.StateDir); it survives docker kill + start, as a pg node's
// data dir must (pg_rewind).
const dataRoot = "/var/lib/whatif"

type recipe struct {
	topo   compose.Topology
	timers PatroniTimers
	ip     func(svc string) string
}

func listenAll(port int) string { return fmt.Sprintf("0.0.0.0:%d", port) }

// ToxiproxyTarpit is the tarpit the toxiproxy container serves on its own
// loopback (chaos.Toxiproxy.WithTarpit): a dead host's links point there.
const ToxiproxyTarpit = "127.0.0.1:9999"

// linkAddr is where a container dials a link: the toxiproxy container.
func (r recipe) linkAddr(link string) string {
	return fmt.Sprintf("%s:%d", compose.SvcToxiproxy, r.topo.Link(link).Listen)
}

// fromEnv writes each env var to a file, then execs the command: the
// configs travel in the container's environment, so one compose file holds
// the whole stack. "$$" is not needed here; the YAML renderer escapes "$".
func fromEnv(files map[string]string, cmd ...string) []string {
	var b strings.Builder
	for _, env := range sortedKeys(files) {
		fmt.Fprintf(&b, "printf '%%s\\n' \"$%s\" > %s && ", env, files[env])
	}
	b.WriteString("exec")
	for _, a := range cmd {
		b.WriteString(" " + a)
	}
	return []string{"sh", "-c", b.String()}
}

// Health checks for docker (and `compose up --wait`). bash's /dev/tcp and
// the C clients of the image keep them cheap: they run every interval in
// every container on a 2-core box. Start/Controller.Start use the stronger
// Go checks of local mode (leader or streaming replica, HAProxy settled).
func httpCheck(port int, method, path string) []string {
	return []string{"bash", "-c", fmt.Sprintf(
		`exec 3<>/dev/tcp/127.0.0.1/%d && printf '%s %s HTTP/1.0\r\n\r\n' >&3 && read -r _ code _ <&3 && [ "$code" = 200 ]`,
		port, method, path)}
}

func tcpCheck(port int) []string {
	return []string{"bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d", port)}
}

func pgCheck(port int) []string {
	return []string{"pg_isready", "-q", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "postgres"}
}

// fill sets the image, command, user, env and health check of c.
func (r recipe) fill(c *Container, img Images) error {
	topo := r.topo
	svc := topo.Service(c.Service)
	switch c.Service {
	case compose.SvcToxiproxy:
		c.Image = img.Toxiproxy
		c.Command = []string{"whatif-toxiproxy", "--api", listenAll(svc.Port("main")), "--tarpit", ToxiproxyTarpit}
		for _, l := range topo.Links {
			c.Command = append(c.Command, "--link", fmt.Sprintf("%s=%s=%s:%d", l.Name, listenAll(l.Listen), l.To, l.Upstream))
		}
		c.Healthcheck = httpCheck(svc.Port("main"), "GET", "/version")

	case compose.SvcEtcd:
		c.Image = img.Debian
		c.StateDir = dataRoot
		name := fmt.Sprintf("etcd-%d", topo.Base)
		peer := fmt.Sprintf("http://%s:%d", compose.SvcEtcd, svc.Port("peer"))
		c.Command = []string{"etcd",
			"--name", name,
			"--data-dir", dataRoot + "/etcd",
			"--listen-client-urls", "http://" + listenAll(svc.Port("main")),
			"--advertise-client-urls", "http://" + r.linkAddr(compose.LinkPatroniEtcd),
			"--listen-peer-urls", "http://" + listenAll(svc.Port("peer")),
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", name + "=" + peer,
			"--initial-cluster-state", "new",
			"--initial-cluster-token", name,
			// v2 API: see compose/local etcdArgs (a SIGSTOPped leader
			// retook the etcd3 lock and acked writes were lost).
			"--enable-v2=true",
			"--logger", "zap", "--log-outputs", "stderr",
		}
		c.Healthcheck = httpCheck(svc.Port("main"), "GET", "/health")

	case compose.SvcPG0, compose.SvcPG1:
		c.Image = img.Debian
		c.StateDir = dataRoot
		c.User = "postgres" // Postgres refuses root
		conf, err := r.patroniConfig(c.Service)
		if err != nil {
			return err
		}
		c.Env = map[string]string{"PATRONI_CONFIG": string(conf)}
		c.Command = fromEnv(map[string]string{"PATRONI_CONFIG": "/tmp/patroni.yml"}, "patroni", "/tmp/patroni.yml")
		c.Healthcheck = httpCheck(svc.Port("rest"), "OPTIONS", "/health")

	case compose.SvcHAProxy:
		c.Image = img.Debian
		c.Env = map[string]string{"HAPROXY_CONFIG": r.haproxyConfig()}
		c.Command = fromEnv(map[string]string{"HAPROXY_CONFIG": "/tmp/haproxy.cfg"}, "haproxy", "-db", "-f", "/tmp/haproxy.cfg")
		c.Healthcheck = pgCheck(svc.Port("main"))

	case compose.SvcPgBouncer:
		c.Image = img.Debian
		c.User = "postgres" // PgBouncer refuses root
		c.Env = map[string]string{"PGBOUNCER_CONFIG": r.pgbouncerConfig(), "PGBOUNCER_USERS": `"postgres" ""`}
		c.Command = fromEnv(map[string]string{"PGBOUNCER_CONFIG": "/tmp/pgbouncer.ini", "PGBOUNCER_USERS": "/tmp/userlist.txt"},
			"pgbouncer", "/tmp/pgbouncer.ini")
		c.Healthcheck = pgCheck(svc.Port("main"))

	case compose.SvcRedis:
		c.Image = img.Debian
		c.StateDir = dataRoot
		c.Command = []string{"redis-server",
			"--port", fmt.Sprint(svc.Port("main")),
			"--bind", "0.0.0.0",
			"--protected-mode", "no",
			"--save", "",
			"--appendonly", "no",
			"--dir", dataRoot,
			"--daemonize", "no",
			"--logfile", "",
		}
		c.Healthcheck = []string{"redis-cli", "-p", fmt.Sprint(svc.Port("main")), "ping"}

	case compose.SvcRC0, compose.SvcRC1, compose.SvcRC2:
		c.Image = img.Debian
		c.StateDir = dataRoot
		c.Command = []string{"sh", "-c", r.clusterNodeScript(c.Service)}
		c.Healthcheck = []string{"sh", "-c", fmt.Sprintf("redis-cli -p %d cluster info | grep -q '^cluster_state:ok'", svc.Port("main"))}

	case compose.SvcBroker:
		c.Image = img.Broker
		c.StateDir = dataRoot
		c.Profiles = []string{profileBroker}
		c.Command = []string{"whatif-broker",
			"--listen", listenAll(svc.Port("main")),
			"--advertise", r.linkAddr(compose.LinkBroker),
			"--data-dir", dataRoot + "/broker",
			"--partitions", fmt.Sprint(compose.BrokerPartitions),
		}
		c.Healthcheck = tcpCheck(svc.Port("main"))

	case compose.SvcAPI:
		c.Image = img.API
		// The runner's admin requests arrive from the bridge gateway, not
		// loopback: the api takes a bearer token from the environment.
		c.Env = map[string]string{adminTokenEnv: ""}
		c.Command = []string{"sh", "-c", "exec whatif-api " + shellQuote(r.apiArgs()) + ` --admin-token "$` + adminTokenEnv + `"`}
		c.Healthcheck = httpCheck(svc.Port("main"), "GET", "/health")

	case compose.SvcApp0, compose.SvcApp1:
		c.Image = img.API
		c.Env = map[string]string{adminTokenEnv: ""}
		args := append(r.apiArgsFor(c.Service), "--state-file", "/tmp/state.json")
		c.Command = []string{"sh", "-c", "exec whatif-api " + shellQuote(args) + ` --admin-token "$` + adminTokenEnv + `"`}
		c.Healthcheck = httpCheck(svc.Port("main"), "GET", "/health")
		c.MemLimit, c.Restart = compose.AppMemLimit, "unless-stopped"

	default:
		return fmt.Errorf("docker: no recipe for service %q", c.Service)
	}
	return nil
}

// Profiles: the built-in broker is on by default (compose/.env sets
// COMPOSE_PROFILES=broker); COMPOSE_PROFILES=kafka swaps in apache/kafka.
const (
	profileBroker = "broker"
	profileKafka  = "kafka"
)

// kafkaContainer is the opt-in official broker: KRaft single node at the
// built-in broker's port, IP and name, advertising the Toxiproxy link.
func kafkaContainer(topo compose.Topology, img Images, ip string) Container {
	port := topo.Service(compose.SvcBroker).Port("main")
	link := topo.Link(compose.LinkBroker).Listen
	return Container{
		Service:  "kafka",
		Image:    img.Kafka,
		IP:       ip,
		Profiles: []string{profileKafka},
		Replaces: compose.SvcBroker,
		DependsOn: []string{
			compose.SvcToxiproxy,
		},
		Ports: []int{port},
		Env: map[string]string{
			"KAFKA_NODE_ID":                                  "1",
			"KAFKA_PROCESS_ROLES":                            "broker,controller",
			"KAFKA_LISTENERS":                                fmt.Sprintf("PLAINTEXT://:%d,CONTROLLER://:9093", port),
			"KAFKA_ADVERTISED_LISTENERS":                     fmt.Sprintf("PLAINTEXT://%s:%d", compose.SvcToxiproxy, link),
			"KAFKA_CONTROLLER_LISTENER_NAMES":                "CONTROLLER",
			"KAFKA_LISTENER_SECURITY_PROTOCOL_MAP":           "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
			"KAFKA_CONTROLLER_QUORUM_VOTERS":                 "1@localhost:9093",
			"KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR":         "1",
			"KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
			"KAFKA_TRANSACTION_STATE_LOG_MIN_ISR":            "1",
			"KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS":         "0",
		},
		Healthcheck: tcpCheck(port),
	}
}

// patroniConfig: compose/local patroniConfig with container addresses and
// Patroni's own initdb (each node has its own filesystem: no shared
// template to copy).
func (r recipe) patroniConfig(node string) ([]byte, error) {
	topo := r.topo
	svc := topo.Service(node)
	link := map[string]string{compose.SvcPG0: compose.LinkHAPG0, compose.SvcPG1: compose.LinkHAPG1}[node]
	dir := dataRoot + "/pg"
	// Only the project network reaches these ports (published on loopback).
	trust := []string{
		"local all all trust",
		"host all all 0.0.0.0/0 trust",
		"host replication all 0.0.0.0/0 trust",
	}
	t := r.timers
	cfg := map[string]any{
		"scope":     fmt.Sprintf("whatif-%d", topo.Base),
		"namespace": "/whatif/",
		"name":      node,
		"log":       map[string]any{"level": "INFO"},
		"restapi": map[string]any{
			"listen":          listenAll(svc.Port("rest")),
			"connect_address": fmt.Sprintf("%s:%d", node, svc.Port("rest")),
		},
		"etcd": map[string]any{"host": r.linkAddr(compose.LinkPatroniEtcd)},
		"bootstrap": map[string]any{
			"dcs": map[string]any{
				"ttl":                     t.TTL,
				"loop_wait":               t.LoopWait,
				"retry_timeout":           t.RetryTimeout,
				"maximum_lag_on_failover": 1 << 20,
				"postgresql": map[string]any{
					"use_pg_rewind": true,
					"use_slots":     false, // a stale primary_slot_name breaks rejoin
					"parameters": map[string]any{
						"wal_level":                   "replica",
						"wal_log_hints":               "on",
						"hot_standby":                 "on",
						"wal_keep_size":               "256MB",
						"max_wal_senders":             10,
						"max_connections":             compose.PGMaxConnections,
						"wal_retrieve_retry_interval": "500ms",
					},
				},
			},
			"initdb": []any{map[string]any{"encoding": "UTF8"}, map[string]any{"locale": "C.UTF-8"}, "no-sync"},
		},
		"postgresql": map[string]any{
			"listen":          listenAll(svc.Port("main")),
			"connect_address": r.linkAddr(link), // replication and HAProxy go through Toxiproxy
			"data_dir":        dir + "/data",
			"bin_dir":         "/usr/lib/postgresql/15/bin",
			"pgpass":          "/tmp/pgpass",
			"authentication": map[string]any{
				"superuser":   map[string]any{"username": "postgres"},
				"replication": map[string]any{"username": "postgres"},
				"rewind":      map[string]any{"username": "postgres"},
			},
			"pg_hba": trust,
			// The last resort of a rejoin: when the old leader's timeline has
			// diverged and pg_rewind cannot run (seen under compose: Patroni
			// started it as a replica on the old timeline, Postgres refused
			// "timeline 2 is not a child of this server's history" forever),
			// wipe the data dir and clone it again from the leader.
			"remove_data_directory_on_rewind_failure":     true,
			"remove_data_directory_on_diverged_timelines": true,
			"basebackup": []any{map[string]any{"checkpoint": "fast"}, "no-sync"},
			"parameters": map[string]any{"unix_socket_directories": "/tmp"},
		},
		"watchdog": map[string]any{"mode": "off", "safety_margin": -1},
		"tags":     map[string]any{"nofailover": false, "noloadbalance": false, "clonefrom": false, "nosync": false},
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// haproxyConfig: compose/local haproxyConfig; servers are the pg nodes'
// Toxiproxy links, checks go to each node's own address and REST port.
// HAProxy resolves names once at start, so checks use the static IPs.
func (r recipe) haproxyConfig() string {
	topo := r.topo
	ha := topo.Service(compose.SvcHAProxy)
	type node struct{ name, link string }
	nodes := []node{{compose.SvcPG0, compose.LinkHAPG0}, {compose.SvcPG1, compose.LinkHAPG1}}
	check := func(n node) string {
		return fmt.Sprintf("check addr %s port %d", r.ip(n.name), topo.Service(n.name).Port("rest"))
	}
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
	w("  default-server inter 500ms fastinter 250ms fall 2 rise 1 on-marked-down shutdown-sessions")
	w("")
	w("frontend pg_write_in")
	w("  bind %s", listenAll(ha.Port("main")))
	w("  default_backend pg_write")
	w("")
	w("backend pg_write")
	w("  option httpchk OPTIONS /primary")
	w("  http-check expect status 200")
	for _, n := range nodes {
		w("  server %s %s %s", n.name, r.linkAddr(n.link), check(n))
	}
	w("")
	w("frontend pg_read_in")
	w("  bind %s", listenAll(ha.Port("read")))
	w("  default_backend pg_read")
	w("")
	w("backend pg_read")
	w("  option httpchk OPTIONS /replica")
	w("  http-check expect status 200")
	for _, n := range nodes {
		w("  server %s %s %s on-marked-up shutdown-backup-sessions", n.name, r.linkAddr(n.link), check(n))
	}
	for _, n := range nodes {
		w("  server %s_leader %s backup track pg_write/%s", n.name, r.linkAddr(n.link), n.name)
	}
	w("")
	b.WriteString(compose.AppsBalancer(listenAll(ha.Port("apps")), r.linkAddr))
	w("")
	w("frontend stats")
	w("  bind %s", listenAll(ha.Port("stats")))
	w("  mode http")
	w("  timeout client 10s")
	w("  monitor-uri /health")
	w("  stats enable")
	w("  stats uri /stats")
	return b.String()
}

// pgbouncerConfig: compose/local pgbouncerConfig, dialing the link by name.
func (r recipe) pgbouncerConfig() string {
	up := r.topo.Link(compose.LinkBouncerPG)
	return strings.Join([]string{
		"[databases]",
		fmt.Sprintf("* = host=%s port=%d", compose.SvcToxiproxy, up.Listen),
		"",
		"[pgbouncer]",
		"listen_addr = 0.0.0.0",
		fmt.Sprintf("listen_port = %d", r.topo.Service(compose.SvcPgBouncer).Port("main")),
		"unix_socket_dir =",
		"auth_type = trust",
		"auth_file = /tmp/userlist.txt",
		"admin_users = postgres",
		"pool_mode = transaction",
		"max_client_conn = 2000",
		"default_pool_size = 20",
		"server_login_retry = 1",
		"ignore_startup_parameters = extra_float_digits",
		"log_connections = 0",
		"log_disconnections = 0",
	}, "\n")
}

func pgURL(hostport string) string {
	return "postgres://postgres@" + hostport + "/postgres?sslmode=disable"
}

// apiArgs: compose/local apiArgs with the links' container addresses.
// It also runs the checkout workers (compose/local apiArgs).
func (r recipe) apiArgs() []string {
	return append(r.apiArgsFor(compose.SvcAPI), "--checkout-workers", fmt.Sprint(compose.CheckoutWorkers))
}

// apiArgsFor is the command line of an api process listening as svc; app
// instances share the api's links.
func (r recipe) apiArgsFor(svc string) []string {
	topo := r.topo
	args := []string{
		"--listen", listenAll(topo.Service(svc).Port("main")),
		"--redis", r.linkAddr(compose.LinkRedis),
		"--pg-primary", pgURL(r.linkAddr(compose.LinkPrimary)),
		"--pg-replica", pgURL(r.linkAddr(compose.LinkReplica)),
		"--pgbouncer", pgURL(r.linkAddr(compose.LinkPgBouncer)),
		"--broker", r.linkAddr(compose.LinkBroker),
	}
	var seeds []string
	for _, l := range topo.Links {
		if l.From == compose.SvcAPI && compose.IsClusterNode(l.To) {
			seeds = append(seeds, l.To+"="+r.linkAddr(l.Name))
		}
	}
	if len(seeds) > 0 {
		args = append(args, "--redis-cluster", strings.Join(seeds, ","))
	}
	var hosts []string
	for _, l := range topo.Links {
		if l.From == compose.SvcAPI && (l.To == compose.SvcPG0 || l.To == compose.SvcPG1) {
			hosts = append(hosts, r.linkAddr(l.Name))
		}
	}
	if len(hosts) > 0 {
		args = append(args, "--pg-direct", "postgres://postgres@"+strings.Join(hosts, ",")+
			"/postgres?sslmode=disable&target_session_attrs=read-write")
	}
	return args
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// adminTokenEnv carries the api's admin token. The compose file takes it
// from the host's environment (default "whatif"); Start makes a random one.
const adminTokenEnv = "WHATIF_ADMIN_TOKEN"

// shellQuote single-quotes each argument for sh -c.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'"'"'`) + "'"
	}
	return strings.Join(q, " ")
}

// clusterNodeScript runs one Redis Cluster master (compose/local
// redisClusterArgs with container addresses) and forms the cluster from
// inside: once the node answers it takes its slot range and MEETs the other
// masters until it knows all of them, so the compose file alone brings the
// cluster up. Clients learn "toxiproxy:<link>" (announced hostname + port);
// the nodes gossip at their static IPs on the real bus port. After a
// restart nodes.conf holds the slots: ADDSLOTSRANGE fails, harmlessly.
func (r recipe) clusterNodeScript(node string) string {
	topo := r.topo
	svc := topo.Service(node)
	port := svc.Port("main")
	i := slices.Index(compose.RedisClusterNodes, node)
	lo, hi := compose.ClusterSlots(i, len(compose.RedisClusterNodes))
	args := []string{"redis-server",
		"--port", fmt.Sprint(port),
		"--bind", "0.0.0.0",
		"--protected-mode", "no",
		"--save", "''",
		"--appendonly", "no",
		"--dir", dataRoot,
		"--daemonize", "no",
		"--logfile", "''",
		"--cluster-enabled", "yes",
		"--cluster-config-file", dataRoot + "/nodes.conf",
		"--cluster-node-timeout", "2000",
		"--cluster-port", fmt.Sprint(svc.Port("bus")),
		"--cluster-announce-ip", r.ip(node),
		"--cluster-announce-port", fmt.Sprint(topo.Link(compose.ClusterLink(node)).Listen),
		"--cluster-announce-bus-port", fmt.Sprint(svc.Port("bus")),
		"--cluster-announce-hostname", compose.SvcToxiproxy,
		"--cluster-preferred-endpoint-type", "hostname",
		"--cluster-require-full-coverage", "no",
	}
	var meets []string
	for _, peer := range compose.RedisClusterNodes {
		if peer != node {
			ps := topo.Service(peer)
			meets = append(meets, fmt.Sprintf("redis-cli -p %d cluster meet %s %d %d >/dev/null;", port, r.ip(peer), ps.Port("main"), ps.Port("bus")))
		}
	}
	return fmt.Sprintf("mkdir -p %s && %s & pid=$!; "+
		"until redis-cli -p %d ping >/dev/null 2>&1; do sleep 0.1; done; "+
		"redis-cli -p %d cluster addslotsrange %d %d >/dev/null 2>&1; "+
		"until redis-cli -p %d cluster info | grep -q '^cluster_known_nodes:%d'; do %s sleep 0.5; done; "+
		"wait $pid",
		dataRoot, strings.Join(args, " "), port, port, lo, hi, port, len(compose.RedisClusterNodes), strings.Join(meets, " "))
}
