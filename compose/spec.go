package compose

import (
	"net"
	"strconv"
)

// Backend names the two ways a stack runs. A Spec looks at it only where
// the backends truly differ (Patroni's bootstrap, forming the Redis
// Cluster); everything else goes through Addressing.
type Backend string

const (
	Local  Backend = "local"  // processes on loopback (compose/local)
	Docker Backend = "docker" // containers on a bridge network (compose/docker)
)

// Addressing is where things are in one running stack: a Spec renders its
// command line and config files through it, so both backends use the
// same renderer.
type Addressing interface {
	Backend() Backend
	// Base is the stack's first port; it also names the stack's clusters.
	Base() int
	// Listen is where the service binds a named port.
	Listen(svc, port string) string
	// Reach is where others reach a named port directly, not through a
	// link: a peer URL, a Patroni REST address, a health check.
	Reach(svc, port string) string
	// Host is the bare host of Reach (HAProxy check addresses, cluster
	// announce addresses).
	Host(svc string) string
	// Link is where a client of the named link dials: its Toxiproxy listener.
	Link(name string) string
	// Dir is the service's state directory (data dirs live under it).
	Dir(svc string) string
	// ConfigDir is where the service's Files are written before it starts.
	ConfigDir(svc string) string
	// Runs says whether svc is part of this stack: optional links are only
	// handed to a service when their upstream runs.
	Runs(svc string) bool
}

// Part is what one stack runs: Only the named services and what they need
// (nil = all), and APIArgs, flags added to every API process's command
// line (an experiment's own pool sizes).
type Part struct {
	Only    []string
	APIArgs []string
}

// Dial is one link a service dials: a Toxiproxy proxy in front of To's
// named port.
type Dial struct {
	Link, To, Port string
}

// HealthKind says how a service's readiness is checked. Both backends
// check with the same Go probe (compose/local.Probe); the compose file
// carries a cheap shell equivalent for `docker compose up --wait`.
type HealthKind string

const (
	HealthHTTP    HealthKind = "http"    // GET Port Path answers 200
	HealthEtcd    HealthKind = "etcd"    // /health says "true"
	HealthPatroni HealthKind = "patroni" // running as leader, or as a replica whose WAL streams
	HealthHAProxy HealthKind = "haproxy" // settled: one writable leader behind the write port
	HealthPG      HealthKind = "pg"      // SELECT 1 answers on Port
	HealthRedis   HealthKind = "redis"   // PING
	HealthCluster HealthKind = "cluster" // cluster_state:ok with every master known
	HealthKafka   HealthKind = "kafka"   // ApiVersions answers
)

// Health is a service's readiness check.
type Health struct {
	Kind HealthKind
	Port string // named port it checks; "" = "main"
	Path string // HTTP path (HealthHTTP)
}

// Image kinds: which image a container runs (compose/docker maps them to tags).
const (
	ImageDebian    = "debian" // Debian's packages: Postgres, Patroni, etcd, HAProxy, PgBouncer, Redis
	ImageAPI       = "api"
	ImageBroker    = "broker"
	ImageWorker    = "worker"
	ImageToxiproxy = "toxiproxy"
)

// Spec describes one service once, for both backends.
type Spec struct {
	Name string
	// Offsets are the service's named ports as offsets from the stack's
	// base ("main" is the one clients use).
	Offsets map[string]int
	// Dials are the links this service defines and dials. Services that
	// share another's links (the app instances) render them by name.
	Dials []Dial
	// Needs must run in every stack that runs this service (a pg node needs
	// etcd); a stack started for some services adds what they need.
	Needs []string
	// After must be healthy before this service is launched, where it runs
	// (the api migrates the database at start, so it waits for HAProxy).
	After []string
	Image string
	// AsPostgres: Postgres, Patroni and PgBouncer refuse to run as root.
	AsPostgres bool
	// State keeps the service's Dir across a kill and restart (compose: a
	// volume of its own; local: the run dir always does).
	State bool
	// MemLimit > 0 runs the service under a memory limit (bytes) and
	// Restart restarts it when it dies on its own.
	MemLimit int64
	Restart  bool
	Health   Health
	// Command is the service's argv; argv[0] is a Debian binary's name or
	// one of ours ("whatif-api"), which each backend resolves.
	Command func(a Addressing) []string
	// Files are config files by name, written into ConfigDir before start.
	Files func(a Addressing) map[string]string
}

// HealthPort is the named port the health check dials.
func (s Spec) HealthPort() string {
	if s.Health.Port == "" {
		return "main"
	}
	return s.Health.Port
}

// ConfigFile is the path of one of the service's Files.
func ConfigFile(a Addressing, svc, name string) string {
	return a.ConfigDir(svc) + "/" + name
}

// SplitHostPort splits an address Addressing returned; it panics on a
// malformed one, which is a programming error.
func SplitHostPort(hostport string) (string, int) {
	h, p, err := net.SplitHostPort(hostport)
	if err != nil {
		panic("compose: " + err.Error())
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		panic("compose: port of " + hostport)
	}
	return h, n
}

// PGURL is the DSN of the postgres superuser at hostport, over TCP
// without TLS (loopback or the project network).
func PGURL(hostport string) string {
	return "postgres://postgres@" + hostport + "/postgres?sslmode=disable"
}
