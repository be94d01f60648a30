package docker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/compose/local"
)

// Config says which stack to run.
type Config struct {
	Topology compose.Topology // zero value = compose.Default(0)
	Images   Images           // zero value = DefaultImages
	Patroni  PatroniTimers    // zero value = DefaultPatroniTimers
	// Only is an optional subset of services to start; what they need is
	// added (compose.Topology.Select). nil = all.
	Only []string
	// APIArgs are flags added to every API container's command.
	APIArgs []string
	// Logs, if set, receives every container's log lines, prefixed with the
	// service name, when the stack stops (containers keep their logs until
	// they are removed).
	Logs io.Writer
	// StartTimeout bounds Start (when ctx has no earlier deadline) and each
	// Controller.Start. Default 120 s.
	StartTimeout time.Duration
}

func (c Config) withDefaults() Config {
	if c.Topology.Base == 0 && len(c.Topology.Services) == 0 {
		c.Topology = compose.Default(0)
	}
	if c.Images == (Images{}) {
		c.Images = DefaultImages
	}
	if c.Patroni == (PatroniTimers{}) {
		c.Patroni = DefaultPatroniTimers
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 120 * time.Second
	}
	return c
}

// Stack is a running compose stack: one network, one container per
// service, every port published on 127.0.0.1 at the topology's number, so
// experiments see exactly what they see in local mode.
type Stack struct {
	cfg   Config
	proj  Project
	cli   *testcontainers.DockerClient
	ids   map[string]string // service -> container id
	idsMu sync.Mutex
	hosts map[string]string // service -> its host container's id
	locks map[string]*sync.Mutex
	ready map[string]time.Duration
	token string // the api's admin token
	ooms  oomWatch

	// ctx ends when Stop begins, cancelling Controller calls in flight.
	ctx      context.Context
	cancel   context.CancelFunc
	stopOnce sync.Once
	stopErr  error
}

// Start reaps leftovers of an earlier run at the same base, creates the
// network and every default container in dependency order (independent
// ones concurrently), and returns once each is healthy by local mode's
// checks (local.Probe). On failure it removes what it created and names
// the failed service with the tail of its log.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	began := time.Now()
	cfg = cfg.withDefaults()
	proj, err := NewProjectPart(cfg.Topology, cfg.Images, cfg.Patroni, compose.Part{Only: cfg.Only, APIArgs: cfg.APIArgs})
	if err != nil {
		return nil, err
	}
	cli, err := newClient(ctx)
	if err != nil {
		return nil, err
	}
	if err := reap(ctx, cli, proj.Name); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker: removing leftovers of %s: %w", proj.Name, err)
	}
	if err := checkReady(ctx, cli, proj); err != nil {
		cli.Close()
		return nil, err
	}
	s := &Stack{cfg: cfg, proj: proj, cli: cli, ids: map[string]string{}, hosts: map[string]string{}, locks: map[string]*sync.Mutex{}, ready: map[string]time.Duration{},
		token: rand.Text()}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.ooms.counts = map[string]int{}
	watching := make(chan struct{})
	go s.ooms.run(s.ctx, cli, proj.Name, watching)
	<-watching
	for _, c := range proj.Default() {
		s.locks[c.Service] = &sync.Mutex{}
	}
	fail := func(err error) (*Stack, error) {
		return nil, errors.Join(err, s.Stop(context.Background()))
	}
	if _, err := cli.NetworkCreate(ctx, proj.Name, client.NetworkCreateOptions{
		Driver: "bridge",
		IPAM:   &network.IPAM{Config: []network.IPAMConfig{{Subnet: netip.MustParsePrefix(proj.Subnet)}}},
		Labels: proj.labels(""),
	}); err != nil {
		return fail(fmt.Errorf("docker: network %s (subnet %s): %w", proj.Name, proj.Subnet, err))
	}
	sctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	if err := s.createHosts(sctx); err != nil {
		return fail(err)
	}
	if err := s.bringUpAll(sctx, began); err != nil {
		return fail(err)
	}
	return s, nil
}

// checkReady fails early, with the fix, when an image is missing or a port
// of the stack is taken on the host.
func checkReady(ctx context.Context, cli *testcontainers.DockerClient, proj Project) error {
	var missing []string
	var busy []int
	for _, c := range proj.Default() {
		if _, err := cli.ImageInspect(ctx, c.Image); err != nil {
			missing = append(missing, c.Image)
		}
		for _, p := range c.Ports {
			ln, err := net.Listen("tcp", compose.Addr(p))
			if err != nil {
				busy = append(busy, p)
				continue
			}
			ln.Close()
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("docker: images missing: %v (build them: make images)", missing)
	}
	if len(busy) > 0 {
		return fmt.Errorf("docker: ports already in use on 127.0.0.1: %v (another stack at base %d?)", busy, proj.Topology.Base)
	}
	return nil
}

func (p Project) labels(svc string) map[string]string {
	l := map[string]string{labelProject: p.Name, labelBase: strconv.Itoa(p.Topology.Base)}
	if svc != "" {
		l[labelService] = svc
	}
	return l
}

// bringUpAll starts each container once its dependencies are healthy, and
// awaits all, then checks every service once more so that Start returns
// with all checks passing together (HAProxy may have been healthy before
// the replica streamed).
func (s *Stack) bringUpAll(ctx context.Context, began time.Time) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cs := s.proj.Default()
	ready := map[string]chan struct{}{}
	for _, c := range cs {
		ready[c.Service] = make(chan struct{})
	}
	var (
		mu   sync.Mutex
		errs = map[string]error{}
		wg   sync.WaitGroup
		tl   sync.Mutex
	)
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := func() error {
				for _, d := range c.DependsOn {
					select {
					case <-ready[d]:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				if err := s.create(ctx, c); err != nil {
					return err
				}
				return s.awaitHealthy(ctx, c.Service)
			}()
			if err != nil {
				mu.Lock()
				errs[c.Service] = err
				mu.Unlock()
				cancel()
				return
			}
			tl.Lock()
			s.ready[c.Service] = time.Since(began)
			tl.Unlock()
			close(ready[c.Service])
		}()
	}
	wg.Wait()
	// The most upstream real failure explains the rest.
	for _, real := range []bool{true, false} {
		for _, c := range cs {
			if err, ok := errs[c.Service]; ok && (!real || !errors.Is(err, context.Canceled)) {
				return err
			}
		}
	}
	for _, c := range cs {
		if err := s.awaitHealthy(ctx, c.Service); err != nil {
			return err
		}
	}
	return nil
}

// createHosts starts every service's host container (see HostService):
// the network namespace with the static IP, DNS name and published ports.
func (s *Stack) createHosts(ctx context.Context) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, c := range s.proj.Default() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.createHost(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("docker: %s: %w", c.HostService(), err))
				return
			}
			s.hosts[c.Service] = id
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *Stack) createHost(ctx context.Context, c Container) (string, error) {
	exposed := []string{}
	bindings := network.PortMap{}
	for _, p := range c.Ports {
		port := network.MustParsePort(fmt.Sprintf("%d/tcp", p))
		exposed = append(exposed, port.String())
		bindings[port] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: strconv.Itoa(p)}}
	}
	ip := netip.MustParseAddr(c.IP)
	labels := s.proj.labels(c.HostService())
	labels[labelRole] = roleHost
	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		Started: true,
		Logger:  tclog.NewNoopLogger(), // library code does not log
		ContainerRequest: testcontainers.ContainerRequest{
			Image:          s.proj.HostImage,
			Name:           s.proj.ContainerName(c.HostService()),
			Cmd:            hostCommand,
			Labels:         labels,
			ExposedPorts:   exposed,
			Networks:       []string{s.proj.Name},
			NetworkAliases: map[string][]string{s.proj.Name: {c.Service}},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.PortBindings = bindings
				init := true
				hc.Init = &init
			},
			EndpointSettingsModifier: func(eps map[string]*network.EndpointSettings) {
				if ep := eps[s.proj.Name]; ep != nil {
					ep.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ip}
				}
			},
		},
	})
	if err != nil {
		return "", err
	}
	return ctr.GetContainerID(), nil
}

// create makes and starts one service container in its host's network
// namespace, through testcontainers (no reaper, no waiting strategy:
// health is awaited with local mode's checks).
func (s *Stack) create(ctx context.Context, c Container) error {
	env := maps.Clone(c.Env)
	if _, ok := env[adminTokenEnv]; ok {
		env[adminTokenEnv] = s.token
	}
	hostID := s.hosts[c.Service]
	req := testcontainers.GenericContainerRequest{
		Started: true,
		Logger:  tclog.NewNoopLogger(), // library code does not log
		ContainerRequest: testcontainers.ContainerRequest{
			Image:  c.Image,
			Name:   s.proj.ContainerName(c.Service),
			Cmd:    c.Command,
			Env:    env,
			Labels: s.proj.labels(c.Service),
			ConfigModifier: func(cc *container.Config) {
				cc.User = c.User
				// No docker health check here: each one is a `docker exec`
				// (dockerd + runc, ~0.1 core-s) every interval in every
				// container, noise an experiment on 2 cores would measure.
				// Start and Controller.Start await local.Probe instead; the
				// compose file keeps them for `up --wait`.
				cc.Healthcheck = &container.HealthConfig{Test: []string{"NONE"}}
			},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.NetworkMode = container.NetworkMode("container:" + hostID)
				init := true
				hc.Init = &init // reaps zombies, forwards SIGTERM on removal
				if c.StateDir != "" {
					// created with the container, seeded from the image's
					// dir (owner and mode included)
					hc.Mounts = append(hc.Mounts, mount.Mount{
						Type: mount.TypeVolume, Source: s.proj.VolumeName(c.Service), Target: c.StateDir,
						VolumeOptions: &mount.VolumeOptions{Labels: s.proj.labels(c.Service)},
					})
				}
				if c.MemLimit > 0 {
					hc.Memory, hc.MemorySwap = c.MemLimit, c.MemLimit
				}
				if c.Restart != "" {
					hc.RestartPolicy = container.RestartPolicy{Name: container.RestartPolicyMode(c.Restart)}
				}
			},
		},
	}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	if ctr != nil {
		s.setID(c.Service, ctr.GetContainerID())
	}
	if err != nil {
		return s.failure(c.Service, fmt.Errorf("create: %w", err))
	}
	return nil
}

// setID and id guard the one map every service's goroutine writes at
// start (a per-service lock does not: seen as "concurrent map writes").
func (s *Stack) setID(svc, id string) {
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	s.ids[svc] = id
}

func (s *Stack) id(svc string) string {
	s.idsMu.Lock()
	defer s.idsMu.Unlock()
	return s.ids[svc]
}

// awaitHealthy polls local mode's check for svc until it passes; it fails
// fast when the container is no longer running.
func (s *Stack) awaitHealthy(ctx context.Context, svc string) error {
	probe, err := local.Probe(s.cfg.Topology, svc)
	if err != nil {
		return err
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, last = probe(cctx)
		cancel()
		if last == nil {
			return nil
		}
		if st, err := s.state(ctx, svc); err == nil && !st.Running {
			return s.failure(svc, fmt.Errorf("container is %s (exit code %d)", st.Status, st.ExitCode))
		}
		select {
		case <-ctx.Done():
			return s.failure(svc, fmt.Errorf("not healthy: %w (last check: %v)", ctx.Err(), last))
		case <-tick.C:
		}
	}
}

func (s *Stack) state(ctx context.Context, svc string) (*container.State, error) {
	return s.inspect(ctx, s.id(svc))
}

// inspect is the state of a container (callers holding the service's lock
// pass its id).
func (s *Stack) inspect(ctx context.Context, id string) (*container.State, error) {
	r, err := s.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return nil, err
	}
	if r.Container.State == nil {
		return nil, fmt.Errorf("docker: container %s: no state", id)
	}
	return r.Container.State, nil
}

// failure wraps err with the service and the tail of its container log.
func (s *Stack) failure(svc string, err error) error {
	id := s.id(svc)
	if id == "" {
		return fmt.Errorf("docker: %s: %w", svc, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tail := logTail(ctx, s.cli, id, 30)
	if tail == "" {
		return fmt.Errorf("docker: %s: %w", svc, err)
	}
	return fmt.Errorf("docker: %s: %w\n--- last lines of container %s ---\n%s", svc, err, s.proj.ContainerName(svc), tail)
}

// Stop removes every container and the network of the project (also ones
// this Stack did not create, e.g. after a failed Start). Idempotent.
func (s *Stack) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		var logErr error
		if s.cfg.Logs != nil {
			if err := s.WriteLogs(ctx, s.cfg.Logs); err != nil {
				logErr = fmt.Errorf("docker: copying container logs: %w", err)
			}
		}
		s.cancel()
		s.stopErr = errors.Join(logErr, reap(ctx, s.cli, s.proj.Name))
		s.cli.Close()
	})
	return s.stopErr
}

// Controller returns the container controller for the chaos plane.
func (s *Stack) Controller() compose.Controller { return controller{s} }

// ToxiproxyURL is the toxiproxy container's API, published on loopback.
func (s *Stack) ToxiproxyURL() string {
	return "http://" + compose.Addr(s.cfg.Topology.Service(compose.SvcToxiproxy).Port("main"))
}

// ClientAddr is where a client on this host reaches a service's port
// without docker's userland port proxy (~30% of a core at 1,000 req/s
// here): the container's static address on the bridge network, where the
// service listens on its topology port too.
func (s *Stack) ClientAddr(svc, port string) string {
	p := s.cfg.Topology.Service(svc).Port(port)
	for _, c := range s.proj.Containers {
		if c.Service == svc && c.IP != "" {
			return net.JoinHostPort(c.IP, strconv.Itoa(p))
		}
	}
	return compose.Addr(p)
}

// DialContext dials an address as the stack's services name each other
// (a service's name on the Docker network, e.g. the broker's advertised
// toxiproxy:PORT) from this host, through the container's own address.
func (s *Stack) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(address); err == nil {
		for _, c := range s.proj.Containers {
			if c.Service == host && c.IP != "" {
				address = net.JoinHostPort(c.IP, port)
				break
			}
		}
	}
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}

// ToxiproxyTarpit is the tarpit beside the toxiproxy server, as the
// server dials it (chaos.Toxiproxy.WithTarpit).
func (s *Stack) ToxiproxyTarpit() string { return ToxiproxyTarpit }

// Topology is the topology the stack runs.
func (s *Stack) Topology() compose.Topology { return s.cfg.Topology }

// Services lists the services this stack runs (Toxiproxy excluded), sorted.
func (s *Stack) Services() []string {
	var out []string
	for _, c := range s.proj.Default() {
		if c.Service != compose.SvcToxiproxy {
			out = append(out, c.Service)
		}
	}
	slices.Sort(out)
	return out
}

// Capabilities: every container can be memory-limited, CPU-weighted and
// its restarts counted.
func (s *Stack) Capabilities() compose.Capabilities { return Offers() }

// Offers is what a compose stack can do beyond its Controller: everything
// the experiments ask for.
func Offers() compose.Capabilities { return compose.Capabilities{} }

// Project is the compose project the stack runs.
func (s *Stack) Project() Project { return s.proj }

// ReadyAfter tells, per service, how long after Start's call it was
// healthy: the cold-start profile.
func (s *Stack) ReadyAfter() map[string]time.Duration {
	out := map[string]time.Duration{}
	for k, v := range s.ready {
		out[k] = v
	}
	return out
}

// AdminToken is the bearer token of the api's admin endpoints (the
// runner's requests do not come from the api's loopback).
func (s *Stack) AdminToken() string { return s.token }
