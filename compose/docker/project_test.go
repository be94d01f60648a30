package docker

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/compose"
)

const composeFilePath = "../docker-compose.yml"

// One source of truth: the committed compose file is the generation.
func TestComposeFileIsGenerated(t *testing.T) {
	want, err := ComposeFile()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WHATIF_UPDATE_COMPOSE") == "1" {
		if err := os.WriteFile(composeFilePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(composeFilePath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("compose/docker-compose.yml differs from the topology's generation: run `go generate ./compose/docker`")
	}
}

// docker-compose (if installed) must accept the file, with either profile.
func TestComposeFileValidates(t *testing.T) {
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("SKIP: docker-compose is not installed; cannot validate the compose file")
	}
	for _, profile := range []string{profileBroker, profileKafka} {
		cmd := exec.Command(dc, "-f", composeFilePath, "config", "--services")
		cmd.Env = append(os.Environ(), "COMPOSE_PROFILES="+profile)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("profile %s: docker-compose config: %v\n%s", profile, err, out)
		}
		svcs := strings.Fields(string(out))
		if !slices.Contains(svcs, profile) || !slices.Contains(svcs, compose.SvcAPI) {
			t.Errorf("profile %s: services %v", profile, svcs)
		}
	}
}

// Every topology service, port and link is in the project, the same way.
func TestProjectMatchesTopology(t *testing.T) {
	for _, base := range []int{15400, 19000} {
		topo := compose.Default(base)
		p, err := NewProject(topo, DefaultImages, DefaultPatroniTimers)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]Container{}
		for _, c := range p.Default() {
			byName[c.Service] = c
		}
		for _, s := range topo.Services {
			c, ok := byName[s.Name]
			if !ok {
				t.Fatalf("base %d: service %s missing", base, s.Name)
			}
			for name, port := range s.Ports {
				if !slices.Contains(c.Ports, port) {
					t.Errorf("base %d: %s port %s=%d not published", base, s.Name, name, port)
				}
			}
			if len(c.Healthcheck) == 0 {
				t.Errorf("base %d: %s has no health check", base, s.Name)
			}
			for _, d := range c.DependsOn {
				if _, ok := byName[d]; !ok {
					t.Errorf("base %d: %s depends on unknown %s", base, s.Name, d)
				}
			}
		}
		if len(byName) != len(topo.Services) {
			t.Errorf("base %d: %d default containers for %d services", base, len(byName), len(topo.Services))
		}
		// Each link: a proxy on its listen port to the upstream's container
		// port, reachable inside the network only.
		tp := byName[compose.SvcToxiproxy]
		cmd := strings.Join(tp.Command, " ")
		for _, l := range topo.Links {
			arg := l.Name + "=0.0.0.0:" + itoa(l.Listen) + "=" + l.To + ":" + itoa(l.Upstream)
			if !strings.Contains(cmd, "--link "+arg) {
				t.Errorf("base %d: toxiproxy lacks link %s", base, arg)
			}
			if slices.Contains(tp.Ports, l.Listen) {
				t.Errorf("base %d: link %s port %d published: links serve the containers only", base, l.Name, l.Listen)
			}
		}
	}
}

// Containers dial dependencies only through Toxiproxy: no config names
// another service's address directly, except HAProxy's health checks and
// the Patroni REST address (as in local mode).
func TestDependenciesDialThroughToxiproxy(t *testing.T) {
	topo := compose.Default(19000)
	p, err := NewProject(topo, DefaultImages, DefaultPatroniTimers)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		svc, mustHave string
	}{
		{compose.SvcAPI, "'--redis' 'toxiproxy:" + itoa(topo.Link(compose.LinkRedis).Listen) + "'"},
		{compose.SvcAPI, "'--broker' 'toxiproxy:" + itoa(topo.Link(compose.LinkBroker).Listen) + "'"},
		{compose.SvcPgBouncer, "host=toxiproxy port=" + itoa(topo.Link(compose.LinkBouncerPG).Listen)},
		{compose.SvcPG0, `"host": "toxiproxy:` + itoa(topo.Link(compose.LinkPatroniEtcd).Listen)},
		{compose.SvcPG1, `"connect_address": "toxiproxy:` + itoa(topo.Link(compose.LinkReplPG1).Listen)},
		{compose.SvcHAProxy, "server pg0 toxiproxy:" + itoa(topo.Link(compose.LinkHAPG0).Listen)},
		{compose.SvcEtcd, "--advertise-client-urls http://toxiproxy:" + itoa(topo.Link(compose.LinkPatroniEtcd).Listen)},
		{compose.SvcAPI, "'--redis-cluster' 'rc0=toxiproxy:" + itoa(topo.Link(compose.LinkRC0).Listen) + ",rc1=toxiproxy:" + itoa(topo.Link(compose.LinkRC1).Listen)},
		{compose.SvcRC1, "'--cluster-announce-port' '" + itoa(topo.Link(compose.LinkRC1).Listen) + "'"},
		{compose.SvcRC1, "'--cluster-announce-hostname' 'toxiproxy' '--cluster-preferred-endpoint-type' 'hostname'"},
	}
	for _, tc := range cases {
		var c Container
		for _, x := range p.Containers {
			if x.Service == tc.svc {
				c = x
			}
		}
		all := strings.Join(c.Command, " ")
		for _, v := range c.Env {
			all += "\n" + v
		}
		if !strings.Contains(all, tc.mustHave) {
			t.Errorf("%s: want %q in its command or config", tc.svc, tc.mustHave)
		}
	}
}

func TestSubnetsDifferPerBase(t *testing.T) {
	seen := map[string]int{}
	for base := 15400; base < 20000; base += compose.PortSpan {
		p, err := NewProject(compose.Default(base), DefaultImages, DefaultPatroniTimers)
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[p.Subnet]; dup {
			t.Fatalf("bases %d and %d share subnet %s", other, base, p.Subnet)
		}
		seen[p.Subnet] = base
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// ClientAddr names the container's own address on the project's subnet at
// the service's topology port, for every service.
func TestClientAddrIsTheContainersAddress(t *testing.T) {
	topo := compose.Default(15400)
	p, err := NewProject(topo, DefaultImages, DefaultPatroniTimers)
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{cfg: Config{Topology: topo}, proj: p}
	subnet := netip.MustParsePrefix(p.Subnet)
	for _, tc := range []struct{ svc, port string }{
		{compose.SvcAPI, "main"}, {compose.SvcHAProxy, "apps"}, {compose.SvcApp0, "main"},
	} {
		host, port, err := net.SplitHostPort(s.ClientAddr(tc.svc, tc.port))
		if err != nil {
			t.Fatal(err)
		}
		if ip, err := netip.ParseAddr(host); err != nil || !subnet.Contains(ip) {
			t.Errorf("%s: host %q not in the project's subnet %s", tc.svc, host, subnet)
		}
		if port != itoa(topo.Service(tc.svc).Port(tc.port)) {
			t.Errorf("%s: port %s, want the topology's %d", tc.svc, port, topo.Service(tc.svc).Port(tc.port))
		}
	}
}

// A stack started for some services holds those and what they need,
// and nothing dials or proxies to a service it does not run.
func TestProjectForSomeServices(t *testing.T) {
	topo := compose.Default(19000)
	p, err := NewProjectFor(topo, DefaultImages, DefaultPatroniTimers, []string{compose.SvcAPI})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range p.Containers {
		names = append(names, c.Service)
	}
	slices.Sort(names)
	if want := []string{"api", "etcd", "haproxy", "pg0", "pg1", "redis", "toxiproxy"}; !slices.Equal(names, want) {
		t.Fatalf("containers %v, want %v", names, want)
	}
	for _, c := range p.Containers {
		all := strings.Join(c.Command, " ")
		for _, absent := range []string{"--redis-cluster", "--broker", "--pgbouncer", "--checkout-workers", "=rc0:", "=broker:", "=app0:"} {
			if strings.Contains(all, absent) {
				t.Errorf("%s: %q in %s", c.Service, absent, all)
			}
		}
		for _, d := range c.DependsOn {
			if !slices.Contains(names, d) {
				t.Errorf("%s depends on %s, which does not run", c.Service, d)
			}
		}
	}
	if _, err := NewProjectFor(topo, DefaultImages, DefaultPatroniTimers, []string{"kafka"}); err == nil {
		t.Error("an unknown service was accepted")
	}
}

func TestProjectPartAddsAPIArgs(t *testing.T) {
	topo := compose.Default(19000)
	p, err := NewProjectPart(topo, DefaultImages, DefaultPatroniTimers,
		compose.Part{Only: []string{compose.SvcAPI, compose.SvcApp0}, APIArgs: []string{"--db-pool", "12"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range p.Containers {
		all := strings.Join(c.Command, " ")
		has := strings.Contains(all, "'--db-pool' '12'")
		if api := topo.Service(c.Service).Image == compose.ImageAPI; has != api {
			t.Errorf("%s: --db-pool 12 in its command is %v, want %v: %s", c.Service, has, api, all)
		}
		if has {
			seen++
		}
	}
	if seen != 2 {
		t.Errorf("%d containers got the API flags, want 2 (api, app0)", seen)
	}
}
