package docker

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// healthInterval etc. are the docker health check timing of every service.
const (
	healthInterval = "2s"
	healthTimeout  = "2s"
	healthRetries  = 60
)

// The compose file's structure: the compose spec, also read by
// docker-compose 1.29. Fields are written in their declaration order.
type (
	composeFile struct {
		Services ordered[composeService]   `yaml:"services"`
		Volumes  map[string]composeVolume  `yaml:"volumes"`
		Networks map[string]composeNetwork `yaml:"networks"`
	}
	composeService struct {
		Image         string                       `yaml:"image"`
		ContainerName string                       `yaml:"container_name"`
		Profiles      []string                     `yaml:"profiles,omitempty,flow"`
		Init          bool                         `yaml:"init"`
		NetworkMode   string                       `yaml:"network_mode,omitempty"`
		User          string                       `yaml:"user,omitempty"`
		MemLimit      int64                        `yaml:"mem_limit,omitempty"`
		MemswapLimit  int64                        `yaml:"memswap_limit,omitempty"`
		Restart       string                       `yaml:"restart,omitempty"`
		Volumes       []string                     `yaml:"volumes,omitempty"`
		Command       []string                     `yaml:"command,omitempty"`
		Environment   map[string]string            `yaml:"environment,omitempty"`
		Labels        map[string]string            `yaml:"labels"`
		Ports         []string                     `yaml:"ports,omitempty"`
		Networks      map[string]composeServiceNet `yaml:"networks,omitempty"`
		DependsOn     ordered[composeDependency]   `yaml:"depends_on,omitempty"`
		Healthcheck   *composeHealthcheck          `yaml:"healthcheck,omitempty"`
	}
	composeServiceNet struct {
		IPv4Address string   `yaml:"ipv4_address"`
		Aliases     []string `yaml:"aliases,flow"`
	}
	composeDependency struct {
		Condition string `yaml:"condition"`
	}
	composeHealthcheck struct {
		Test     []string `yaml:"test"`
		Interval string   `yaml:"interval"`
		Timeout  string   `yaml:"timeout"`
		Retries  int      `yaml:"retries"`
	}
	composeVolume struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	}
	composeNetwork struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
		IPAM   struct {
			Config []composeSubnet `yaml:"config"`
		} `yaml:"ipam"`
	}
	composeSubnet struct {
		Subnet string `yaml:"subnet"`
	}
)

// ordered is a mapping written in its entries' order (a map's keys are
// written sorted).
type ordered[V any] []entry[V]

type entry[V any] struct {
	key string
	val V
}

func (o ordered[V]) MarshalYAML() (any, error) {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range o {
		var v yaml.Node
		if err := v.Encode(e.val); err != nil {
			return nil, err
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: e.key}, &v)
	}
	return m, nil
}

// YAML renders the project as a compose file. "$" in the containers'
// commands, environment and health checks is doubled, so compose does not
// interpolate the containers' shell variables. The output is
// deterministic: compose/docker-compose.yml is this function's output for
// compose.Default(0), checked by a test.
func (p Project) YAML() (string, error) {
	base := map[string]string{labelBase: strconv.Itoa(p.Topology.Base)}
	profiled := map[string]bool{}
	for _, c := range p.Containers {
		if len(c.Profiles) > 0 {
			profiled[c.Service] = true
		}
	}
	f := composeFile{Volumes: map[string]composeVolume{}}
	for _, c := range p.Containers {
		if c.Replaces != "" {
			continue // runs in the host of the service it replaces
		}
		h := composeService{
			Image:         p.HostImage,
			ContainerName: p.ContainerName(c.HostService()),
			Init:          true,
			Command:       hostCommand,
			Labels:        map[string]string{labelBase: base[labelBase], labelRole: roleHost},
			Networks: map[string]composeServiceNet{
				"whatif": {IPv4Address: c.IP, Aliases: []string{c.Service}},
			},
		}
		for _, port := range c.Ports {
			h.Ports = append(h.Ports, fmt.Sprintf("127.0.0.1:%d:%d", port, port))
		}
		f.Services = append(f.Services, entry[composeService]{c.HostService(), h})
	}
	for _, c := range p.Containers {
		s := composeService{
			Image:         c.Image,
			ContainerName: p.ContainerName(c.Service),
			Profiles:      c.Profiles,
			Init:          true,
			NetworkMode:   "service:" + c.HostService(),
			User:          escape(c.User),
			MemLimit:      c.MemLimit,
			MemswapLimit:  c.MemLimit, // no swap beyond the limit
			Restart:       c.Restart,
			Command:       escapeAll(c.Command),
			Labels:        base,
			DependsOn:     ordered[composeDependency]{{c.HostService(), composeDependency{"service_started"}}},
		}
		if c.StateDir != "" {
			// state on volumes, off the storage driver: `down -v` removes them
			vol := c.Service + "-state"
			s.Volumes = []string{vol + ":" + c.StateDir}
			f.Volumes[vol] = composeVolume{Name: p.VolumeName(c.Service), Labels: base}
		}
		if len(c.Env) > 0 {
			s.Environment = map[string]string{}
			for k, v := range c.Env {
				s.Environment[k] = escape(v)
			}
			if _, ok := c.Env[adminTokenEnv]; ok {
				s.Environment[adminTokenEnv] = "${" + adminTokenEnv + ":-whatif}" // from the host's environment
			}
		}
		for _, d := range c.DependsOn {
			if !profiled[d] { // a profile may be off: compose refuses a dependency on it
				s.DependsOn = append(s.DependsOn, entry[composeDependency]{d, composeDependency{"service_healthy"}})
			}
		}
		if len(c.Healthcheck) > 0 {
			s.Healthcheck = &composeHealthcheck{
				Test:     escapeAll(append([]string{"CMD"}, c.Healthcheck...)),
				Interval: healthInterval,
				Timeout:  healthTimeout,
				Retries:  healthRetries,
			}
		}
		f.Services = append(f.Services, entry[composeService]{c.Service, s})
	}
	nw := composeNetwork{Name: p.Name, Labels: base}
	nw.IPAM.Config = []composeSubnet{{Subnet: p.Subnet}}
	f.Networks = map[string]composeNetwork{"whatif": nw}

	var b bytes.Buffer
	fmt.Fprintf(&b, "# Generated from compose.Default(%d) by `go generate ./compose/docker`: do not edit.\n", p.Topology.Base)
	b.WriteString("# The whatif reference stack: every service->dependency link goes through\n")
	b.WriteString("# toxiproxy; ports are published on 127.0.0.1 at the topology's numbers.\n")
	fmt.Fprintf(&b, "#   docker-compose -p %s -f compose/docker-compose.yml up -d\n", p.Name)
	fmt.Fprintf(&b, "# Profiles (compose/.env sets COMPOSE_PROFILES=%s): %q runs the built-in broker,\n", profileBroker, profileBroker)
	fmt.Fprintf(&b, "# %q the official apache/kafka image in its place (COMPOSE_PROFILES=%s).\n", profileKafka, profileKafka)
	b.WriteString("# Each service's processes join the network namespace of its \"-host\"\n")
	b.WriteString("# container, which holds its address and ports: a killed service then\n")
	b.WriteString("# refuses connections at once, as a killed process on loopback does.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return "", fmt.Errorf("docker: compose file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return "", fmt.Errorf("docker: compose file: %w", err)
	}
	return b.String(), nil
}

// escape doubles "$" so compose leaves it to the container's shell.
func escape(s string) string { return strings.ReplaceAll(s, "$", "$$") }

func escapeAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = escape(s)
	}
	return out
}
