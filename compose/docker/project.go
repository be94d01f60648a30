// Package docker runs the whatif system under test as Docker containers —
// the compose reference stack. One Project, derived from compose.Topology,
// is both rendered to compose/docker-compose.yml and started by Start, so
// the YAML and the Go backend cannot drift apart.
package docker

import (
	"fmt"
	"os"
	"slices"

	"github.com/whatif-lab/whatif/compose"
)

// Images names the images a stack runs; `make images` builds them.
type Images struct {
	Debian    string // Postgres/Patroni, etcd, HAProxy, PgBouncer, Redis
	API       string
	Broker    string
	Worker    string
	Toxiproxy string
	Kafka     string // opt-in profile "kafka": the official image (not pullable here)
}

// ImageTagEnv names the tag of our images: `make images IMAGE_TAG=x` builds
// whatif/*:x, and a runner with WHATIF_IMAGE_TAG=x uses them, so worktrees
// that share one Docker engine do not run each other's api. Default "dev".
const ImageTagEnv = "WHATIF_IMAGE_TAG"

// DefaultImages are the tags `make images` builds (WHATIF_IMAGE_TAG, else dev).
var DefaultImages = TaggedImages(os.Getenv(ImageTagEnv))

// TaggedImages are our images at a tag ("" = dev).
func TaggedImages(tag string) Images {
	if tag == "" {
		tag = "dev"
	}
	return Images{
		Debian:    "whatif/debian:" + tag,
		API:       "whatif/api:" + tag,
		Broker:    "whatif/broker:" + tag,
		Worker:    "whatif/worker:" + tag,
		Toxiproxy: "whatif/toxiproxy:" + tag,
		Kafka:     "apache/kafka:3.9.0",
	}
}

// Container is one service of the project: what compose would create.
type Container struct {
	Service string // compose service name (= topology service name)
	Image   string
	// Command runs under docker's init. Strings may hold "$VAR" for the
	// container's shell; the YAML renderer escapes them from compose.
	Command     []string
	User        string // "" = the image's (root)
	Env         map[string]string
	Ports       []int  // published as 127.0.0.1:p:p (same number inside)
	IP          string // static: HAProxy resolves its check addresses once
	DependsOn   []string
	Healthcheck []string // CMD form, for docker and `compose up --wait`
	Profiles    []string // empty = always on
	Replaces    string   // a profile alternative to another service (same IP and alias)
	MemLimit    int64    // bytes; 0 = none. No swap beyond it: the OOM killer acts
	// StateDir is on a volume of its own (Project.VolumeName), not in the
	// container's layer: the engine's storage driver here is fuse-overlayfs,
	// where every write and fsync of Postgres' WAL or etcd's raft log is a
	// round trip through one FUSE daemon that the experiment's load starves.
	StateDir string
	Restart  string // docker restart policy; "" = none
}

// Project is the whole stack of one topology.
type Project struct {
	Name       string // compose project, container and network name prefix
	Topology   compose.Topology
	Subnet     string
	HostImage  string      // of the host containers (any image with sleep)
	Containers []Container // in start order
}

// Labels on everything we create, so Reap finds leftovers of a dead run.
const (
	labelProject = "com.docker.compose.project" // also what docker-compose uses
	labelService = "com.docker.compose.service"
	labelBase    = "dev.whatif.base"
)

// ProjectName derives the project from the base: two stacks never collide.
func ProjectName(base int) string { return fmt.Sprintf("whatif-%d", base) }

// subnetIndex picks a /24 per base (bases are PortSpan apart).
func subnetIndex(base int) int { return (base / compose.PortSpan) % 256 }

// hostID is the last octet of a service's static address: its place in
// the topology, from .10.
func hostID(topo compose.Topology, svc string) int {
	for i, s := range topo.Services {
		if s.Name == svc {
			return 10 + i
		}
	}
	panic(fmt.Sprintf("docker: unknown service %q", svc))
}

// NewProject derives the containers of a whole topology: what the compose
// file holds.
func NewProject(topo compose.Topology, img Images, timers PatroniTimers) (Project, error) {
	return NewProjectFor(topo, img, timers, nil)
}

// NewProjectFor derives the containers of the named services and what
// they need (compose.Topology.Select; nil = all), in start order: each
// after Toxiproxy and after what its spec launches it after.
func NewProjectFor(topo compose.Topology, img Images, timers PatroniTimers, only []string) (Project, error) {
	return NewProjectPart(topo, img, timers, compose.Part{Only: only})
}

// NewProjectPart is NewProjectFor with the API flags of the part too.
func NewProjectPart(topo compose.Topology, img Images, timers PatroniTimers, part compose.Part) (Project, error) {
	only := part.Only
	if err := timers.Validate(); err != nil {
		return Project{}, fmt.Errorf("docker: %w", err)
	}
	names, err := topo.Select(only)
	if err != nil {
		return Project{}, fmt.Errorf("docker: %w", err)
	}
	idx := subnetIndex(topo.Base)
	p := Project{
		Name:      ProjectName(topo.Base),
		Topology:  topo,
		Subnet:    fmt.Sprintf("10.198.%d.0/24", idx),
		HostImage: img.Debian,
	}
	ip := func(svc string) string { return fmt.Sprintf("10.198.%d.%d", idx, hostID(topo, svc)) }
	a := addressing{topo: topo, runs: map[string]bool{}, timers: timers, ip: ip, apiArgs: part.APIArgs}
	for _, n := range names {
		a.runs[n] = true
	}
	for _, name := range topo.StartOrder(names) {
		svc := topo.Service(name)
		c := Container{Service: name, IP: ip(name)}
		if name != compose.SvcToxiproxy {
			// every link goes through it
			c.DependsOn = []string{compose.SvcToxiproxy}
		}
		for _, d := range svc.After {
			if a.runs[d] {
				c.DependsOn = append(c.DependsOn, d)
			}
		}
		// Only the services' own ports are published: the proxies' listen
		// ports serve the containers, and every published port costs the
		// engine a docker-proxy process and iptables rules at start (9
		// containers with 25 ports took ~25 s to start here).
		c.Ports = sortedPorts(svc)
		if err := a.fill(&c, img); err != nil {
			return Project{}, err
		}
		p.Containers = append(p.Containers, c)
	}
	if a.runs[compose.SvcBroker] {
		p.Containers = append(p.Containers, kafkaContainer(topo, img, ip(compose.SvcBroker)))
	}
	return p, nil
}

// sortedPorts lists a service's ports in ascending order.
func sortedPorts(s compose.Service) []int {
	var ps []int
	for _, p := range s.Ports {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// Default returns the containers of the default profile set: everything
// but the opt-in apache/kafka.
func (p Project) Default() []Container {
	var out []Container
	for _, c := range p.Containers {
		if len(c.Profiles) == 0 || slices.Contains(c.Profiles, profileBroker) {
			out = append(out, c)
		}
	}
	return out
}

// ContainerName is the container of a service in this project.
func (p Project) ContainerName(svc string) string { return p.Name + "-" + svc }

// VolumeName is the volume holding a service's StateDir; it carries the
// project's labels, so Reap finds it.
func (p Project) VolumeName(svc string) string { return p.Name + "-" + svc + "-state" }

// Every service runs in two containers: a "host" that holds the network
// namespace (static IP, DNS name, published ports) and never fails, and
// the service's processes, which join that namespace. Killing the service
// container then leaves its host up, so a client dialing it gets an
// immediate RST, exactly as from a killed process on loopback in local
// mode. Without it, a dial of a killed container waits for a DNS failure
// or an ARP timeout, and Toxiproxy, which dials upstreams from its accept
// loop, stalls every link behind it (measured: its API hung for minutes).
const hostSuffix = "-host"

// HostService is the host container's service name.
func (c Container) HostService() string {
	if c.Replaces != "" {
		return c.Replaces + hostSuffix
	}
	return c.Service + hostSuffix
}

// hostCommand keeps a host container alive and idle.
var hostCommand = []string{"sleep", "infinity"}

// labelRole marks host containers, which Reap removes last.
const (
	labelRole = "dev.whatif.role"
	roleHost  = "netns-host"
)
