package docker

import (
	"fmt"
	"strconv"
	"strings"
)

// healthInterval etc. are the docker health check timing of every service.
const (
	healthInterval = "2s"
	healthTimeout  = "2s"
	healthRetries  = 60
)

// YAML renders the project as a compose file (compose spec, also read by
// docker-compose 1.29). Scalars are JSON-quoted, which YAML reads as is;
// "$" is doubled so compose does not interpolate the containers' shell
// variables. The output is deterministic: compose/docker-compose.yml is
// this function's output for compose.Default(0), checked by a test.
func (p Project) YAML() string {
	var b strings.Builder
	w := func(indent int, format string, a ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(&b, format+"\n", a...)
	}
	profiled := map[string]bool{}
	for _, c := range p.Containers {
		if len(c.Profiles) > 0 {
			profiled[c.Service] = true
		}
	}
	w(0, "# Generated from compose.Default(%d) by `go generate ./compose/docker`: do not edit.", p.Topology.Base)
	w(0, "# The whatif reference stack: every service->dependency link goes through")
	w(0, "# toxiproxy; ports are published on 127.0.0.1 at the topology's numbers.")
	w(0, "#   docker-compose -p %s -f compose/docker-compose.yml up -d", p.Name)
	w(0, "# Profiles (compose/.env sets COMPOSE_PROFILES=%s): %q runs the built-in broker,", profileBroker, profileBroker)
	w(0, "# %q the official apache/kafka image in its place (COMPOSE_PROFILES=%s).", profileKafka, profileKafka)
	w(0, "# Each service's processes join the network namespace of its \"-host\"")
	w(0, "# container, which holds its address and ports: a killed service then")
	w(0, "# refuses connections at once, as a killed process on loopback does.")
	w(0, "services:")
	for _, c := range p.Containers {
		if c.Replaces != "" {
			continue // runs in the host of the service it replaces
		}
		w(1, "%s:", c.HostService())
		w(2, "image: %s", q(p.HostImage))
		w(2, "container_name: %s", q(p.ContainerName(c.HostService())))
		w(2, "init: true")
		w(2, "command: %s", qlist(hostCommand))
		w(2, "labels:")
		w(3, "%s: %s", labelBase, q(strconv.Itoa(p.Topology.Base)))
		w(3, "%s: %s", labelRole, q(roleHost))
		if len(c.Ports) > 0 {
			w(2, "ports:")
			for _, port := range c.Ports {
				w(3, "- %s", q(fmt.Sprintf("127.0.0.1:%d:%d", port, port)))
			}
		}
		w(2, "networks:")
		w(3, "whatif:")
		w(4, "ipv4_address: %s", q(c.IP))
		w(4, "aliases: [%s]", q(c.Service))
	}
	for _, c := range p.Containers {
		w(1, "%s:", c.Service)
		w(2, "image: %s", q(c.Image))
		w(2, "container_name: %s", q(p.ContainerName(c.Service)))
		if len(c.Profiles) > 0 {
			w(2, "profiles: %s", qlist(c.Profiles))
		}
		w(2, "init: true")
		w(2, "network_mode: %s", q("service:"+c.HostService()))
		if c.User != "" {
			w(2, "user: %s", q(c.User))
		}
		if c.MemLimit > 0 {
			w(2, "mem_limit: %d", c.MemLimit)
			w(2, "memswap_limit: %d", c.MemLimit)
		}
		if c.Restart != "" {
			w(2, "restart: %s", q(c.Restart))
		}
		if c.StateDir != "" {
			w(2, "volumes:")
			w(3, "- %s", q(c.Service+"-state:"+c.StateDir))
		}
		if len(c.Command) > 0 {
			w(2, "command:")
			for _, a := range c.Command {
				w(3, "- %s", q(a))
			}
		}
		if len(c.Env) > 0 {
			w(2, "environment:")
			for _, k := range sortedKeys(c.Env) {
				if k == adminTokenEnv {
					w(3, "%s: \"${%s:-whatif}\"", k, k) // from the host's environment
					continue
				}
				w(3, "%s: %s", k, q(c.Env[k]))
			}
		}
		w(2, "labels:")
		w(3, "%s: %s", labelBase, q(strconv.Itoa(p.Topology.Base)))
		var deps []string
		for _, d := range c.DependsOn {
			if !profiled[d] { // a profile may be off: compose refuses a dependency on it
				deps = append(deps, d)
			}
		}
		w(2, "depends_on:")
		w(3, "%s:", c.HostService())
		w(4, "condition: service_started")
		for _, d := range deps {
			w(3, "%s:", d)
			w(4, "condition: service_healthy")
		}
		if len(c.Healthcheck) > 0 {
			w(2, "healthcheck:")
			w(3, "test: %s", qlist(append([]string{"CMD"}, c.Healthcheck...)))
			w(3, "interval: %s", healthInterval)
			w(3, "timeout: %s", healthTimeout)
			w(3, "retries: %d", healthRetries)
		}
	}
	// state on volumes, off the storage driver: `down -v` removes them
	w(0, "volumes:")
	for _, c := range p.Containers {
		if c.StateDir != "" {
			w(1, "%s-state:", c.Service)
			w(2, "name: %s", q(p.VolumeName(c.Service)))
			w(2, "labels:")
			w(3, "%s: %s", labelBase, q(strconv.Itoa(p.Topology.Base)))
		}
	}
	w(0, "networks:")
	w(1, "whatif:")
	w(2, "name: %s", q(p.Name))
	w(2, "labels:")
	w(3, "%s: %s", labelBase, q(strconv.Itoa(p.Topology.Base)))
	w(2, "ipam:")
	w(3, "config:")
	w(4, "- subnet: %s", q(p.Subnet))
	return b.String()
}

// q quotes a scalar for YAML (JSON string syntax) and escapes compose's
// interpolation.
func q(s string) string { return strconv.Quote(strings.ReplaceAll(s, "$", "$$")) }

func qlist(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = q(s)
	}
	return "[" + strings.Join(out, ", ") + "]"
}
