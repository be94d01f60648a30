package docker

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/whatif-lab/whatif/compose"
)

// Each service's command and configs come from its compose.Spec, rendered
// through this backend's addressing: inside the network every service
// listens on 0.0.0.0 at its topology port, dials its dependencies at
// toxiproxy:<link listen>, and advertises the proxy address, never its
// own: in both backends a client only ever learns the Toxiproxy address of
// a dependency.

// PatroniTimers are Patroni's DCS timers (compose.PatroniTimers).
type PatroniTimers = compose.PatroniTimers

// DefaultPatroniTimers: a killed leader is replaced in about ttl.
var DefaultPatroniTimers = compose.DefaultPatroniTimers

// dataRoot is where every service keeps state, on its own volume
// (Container.StateDir); it survives docker kill + start, as a pg node's
// data dir must (pg_rewind). The image makes dataRoot/pg postgres' own.
const dataRoot = "/var/lib/whatif"

// addressing is compose.Addressing inside the project network.
type addressing struct {
	topo   compose.Topology
	runs   map[string]bool
	timers PatroniTimers
	ip     func(svc string) string
	// apiArgs are added to every api container's command (compose.Part)
	apiArgs []string
}

func (a addressing) Backend() compose.Backend { return compose.Docker }
func (a addressing) Base() int                { return a.topo.Base }
func (a addressing) Listen(svc, port string) string {
	return fmt.Sprintf("0.0.0.0:%d", a.topo.Service(svc).Port(port))
}
func (a addressing) Reach(svc, port string) string {
	return fmt.Sprintf("%s:%d", svc, a.topo.Service(svc).Port(port))
}

// Host is the static address: HAProxy resolves its check addresses once
// at start, and cluster nodes gossip at their addresses.
func (a addressing) Host(svc string) string { return a.ip(svc) }
func (a addressing) Link(name string) string {
	return fmt.Sprintf("%s:%d", compose.SvcToxiproxy, a.topo.Link(name).Listen)
}
func (a addressing) Dir(svc string) string {
	if a.topo.Service(svc).AsPostgres {
		return dataRoot + "/pg"
	}
	return dataRoot
}

// ConfigDir: configs are written at each start from the environment, not
// kept on the state volume.
func (a addressing) ConfigDir(string) string              { return "/tmp" }
func (a addressing) Runs(svc string) bool                 { return a.runs[svc] }
func (a addressing) PatroniTimers() compose.PatroniTimers { return a.timers }

// PatroniBootstrap: each node has its own filesystem, so no shared
// template to copy: Patroni's own initdb.
func (a addressing) PatroniBootstrap(string) map[string]any { return nil }

var _ compose.PatroniBackend = addressing{}

// ToxiproxyTarpit is the tarpit the toxiproxy container serves on its own
// loopback (chaos.Toxiproxy.WithTarpit): a dead host's links point there.
const ToxiproxyTarpit = "127.0.0.1:9999"

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

// healthcheck is the shell equivalent of a service's Go probe.
func healthcheck(s compose.Service) []string {
	port := s.Port(s.HealthPort())
	switch s.Health.Kind {
	case compose.HealthHTTP:
		return httpCheck(port, "GET", s.Health.Path)
	case compose.HealthEtcd:
		return httpCheck(port, "GET", "/health")
	case compose.HealthPatroni:
		return httpCheck(s.Port("rest"), "OPTIONS", "/health")
	case compose.HealthHAProxy, compose.HealthPG:
		return pgCheck(port)
	case compose.HealthRedis:
		return []string{"redis-cli", "-p", fmt.Sprint(port), "ping"}
	case compose.HealthCluster:
		return []string{"sh", "-c", fmt.Sprintf("redis-cli -p %d cluster info | grep -q '^cluster_state:ok'", port)}
	}
	return tcpCheck(port)
}

// image is the tag of an image kind.
func (img Images) of(kind string) string {
	return map[string]string{
		compose.ImageDebian: img.Debian, compose.ImageAPI: img.API,
		compose.ImageBroker: img.Broker, compose.ImageWorker: img.Worker, compose.ImageToxiproxy: img.Toxiproxy,
	}[kind]
}

// fill sets the image, command, user, env and health check of c from the
// service's spec.
func (a addressing) fill(c *Container, img Images) error {
	s := a.topo.Service(c.Service)
	c.Image = img.of(s.Image)
	if c.Image == "" {
		return fmt.Errorf("docker: %s: no image of kind %q", s.Name, s.Image)
	}
	c.Healthcheck = healthcheck(s)
	if s.Name == compose.SvcToxiproxy {
		c.Command = []string{"whatif-toxiproxy", "--api", a.Listen(s.Name, "main"), "--tarpit", ToxiproxyTarpit}
		for _, l := range a.topo.Links {
			// a proxy to a service that does not run would send its
			// clients into a DNS failure: leave it out
			if a.runs[l.To] {
				c.Command = append(c.Command, "--link", fmt.Sprintf("%s=0.0.0.0:%d=%s:%d", l.Name, l.Listen, l.To, l.Upstream))
			}
		}
		return nil
	}
	if s.AsPostgres {
		c.User = "postgres" // Postgres and PgBouncer refuse root
	}
	if s.State {
		c.StateDir = dataRoot
	}
	if s.MemLimit > 0 {
		c.MemLimit = s.MemLimit
	}
	if s.Restart {
		c.Restart = "unless-stopped"
	}
	if s.Name == compose.SvcBroker {
		c.Profiles = []string{profileBroker}
	}
	argv := s.Command(a)
	if s.Image == compose.ImageAPI {
		argv = append(argv, a.apiArgs...)
	}
	var files map[string]string
	if s.Files != nil {
		files = s.Files(a)
	}
	// The runner's admin requests arrive from the bridge gateway, not
	// loopback: the api and the worker take a bearer token from the
	// environment.
	token := s.Image == compose.ImageAPI || s.Image == compose.ImageWorker
	if len(files) == 0 && !token {
		c.Command = argv
		return nil
	}
	// Configs travel in the container's environment, so one compose file
	// holds the whole stack: each is written to its file, then the command
	// execs. "$$" is not needed here; the YAML renderer escapes "$".
	c.Env = map[string]string{}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(files)) {
		env := fileEnv(name)
		c.Env[env] = files[name]
		fmt.Fprintf(&b, "printf '%%s\\n' \"$%s\" > %s && ", env, compose.ConfigFile(a, s.Name, name))
	}
	b.WriteString("exec " + compose.ShellQuote(argv))
	if token {
		c.Env[adminTokenEnv] = ""
		b.WriteString(` --admin-token "$` + adminTokenEnv + `"`)
	}
	c.Command = []string{"sh", "-c", b.String()}
	return nil
}

// fileEnv names the environment variable carrying a config file.
func fileEnv(name string) string {
	return "WHATIF_FILE_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(name))
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

// adminTokenEnv carries the api's admin token. The compose file takes it
// from the host's environment (default "whatif"); Start makes a random one.
const adminTokenEnv = "WHATIF_ADMIN_TOKEN"
