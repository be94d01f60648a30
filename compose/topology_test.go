package compose

import (
	"slices"
	"strings"
	"testing"
)

func TestSelect(t *testing.T) {
	topo := Default(17000)
	db := []string{"etcd", "haproxy", "pg0", "pg1"}
	cases := []struct {
		only []string
		want []string
	}{
		{nil, topo.ServiceNames()},
		{[]string{"rc1"}, []string{"rc0", "rc1", "rc2"}},
		{[]string{"redis"}, []string{"redis"}},
		{[]string{"toxiproxy"}, []string{}},
		{[]string{"pg0"}, []string{"etcd", "pg0"}},
		{[]string{"pgbouncer"}, append(slices.Clone(db), "pgbouncer")},
		// the api's other links are optional: it runs without them
		{[]string{"api"}, append([]string{"api"}, append(slices.Clone(db), "redis")...)},
		{[]string{"app1"}, append([]string{"api", "app1"}, append(slices.Clone(db), "redis")...)},
		{[]string{"api", "broker"}, append([]string{"api", "broker"}, append(slices.Clone(db), "redis")...)},
	}
	for _, c := range cases {
		got, err := topo.Select(c.only)
		if err != nil {
			t.Fatalf("%v: %v", c.only, err)
		}
		want := append(slices.Clone(c.want), SvcToxiproxy)
		slices.Sort(want)
		want = slices.Compact(want)
		if !slices.Equal(got, want) {
			t.Errorf("Select(%v) = %v, want %v", c.only, got, want)
		}
	}
	if _, err := topo.Select([]string{"kafka"}); err == nil || !strings.Contains(err.Error(), "unknown service") {
		t.Errorf("unknown service: err = %v", err)
	}
}

// Every port of a stack is its own, inside [Base, Base+PortSpan); every
// link, need and launch dependency names a service of the topology.
func TestTopologyIsConsistent(t *testing.T) {
	topo := Default(17000)
	seen := map[int]string{}
	claim := func(port int, who string) {
		if port < topo.Base || port >= topo.Base+PortSpan {
			t.Errorf("%s: port %d outside [%d, %d)", who, port, topo.Base, topo.Base+PortSpan)
		}
		if other, dup := seen[port]; dup {
			t.Errorf("port %d of %s is %s's too", port, who, other)
		}
		seen[port] = who
	}
	for _, s := range topo.Services {
		for name, p := range s.Ports {
			if p >= topo.Base+offProxy {
				t.Errorf("%s port %s: offset %d is in the links' range", s.Name, name, p-topo.Base)
			}
			claim(p, s.Name+"/"+name)
		}
		for _, d := range slices.Concat(s.Needs, s.After) {
			if !topo.has(d) {
				t.Errorf("%s depends on unknown %s", s.Name, d)
			}
		}
		if s.Name != SvcToxiproxy && s.Command == nil {
			t.Errorf("%s has no command", s.Name)
		}
		if s.Health.Kind == "" {
			t.Errorf("%s has no health check", s.Name)
		}
	}
	for _, l := range topo.Links {
		claim(l.Listen, "link "+l.Name)
		if topo.Service(l.To).Port(l.ToPort) != l.Upstream {
			t.Errorf("link %s: upstream %d", l.Name, l.Upstream)
		}
	}
}

func TestStartOrderIsUpstreamFirst(t *testing.T) {
	topo := Default(17000)
	order := topo.StartOrder(topo.ServiceNames())
	pos := map[string]int{}
	for i, n := range order {
		pos[n] = i
	}
	if len(order) != len(topo.Services) {
		t.Fatalf("order %v misses services", order)
	}
	for _, s := range topo.Services {
		for _, d := range s.After {
			if pos[d] > pos[s.Name] {
				t.Errorf("%s starts before %s, which it is launched after", s.Name, d)
			}
		}
		for _, d := range s.Needs {
			if pos[d] > pos[s.Name] && !slices.Contains(topo.Service(d).Needs, s.Name) {
				t.Errorf("%s comes before %s, which it needs", s.Name, d)
			}
		}
	}
	if got := topo.StartOrder([]string{SvcAPI, SvcHAProxy, SvcPG0, SvcPG1, SvcEtcd, SvcRedis}); !slices.Equal(got,
		[]string{SvcRedis, SvcEtcd, SvcPG0, SvcPG1, SvcHAProxy, SvcAPI}) {
		t.Errorf("order %v", got)
	}
}

func TestCapabilitiesCheck(t *testing.T) {
	c := Capabilities{Missing: map[Capability]string{MemoryLimits: "needs root", CPUWeights: "no cgroup"}}
	if err := c.Check(nil); err != nil {
		t.Errorf("nothing needed: %v", err)
	}
	if err := c.Check([]Capability{RestartCounts}); err != nil {
		t.Errorf("restart counts are there: %v", err)
	}
	err := c.Check([]Capability{RestartCounts, MemoryLimits, CPUWeights})
	if err == nil || err.Error() != "this stack cannot offer cpu-weights (no cgroup); memory-limits (needs root)" {
		t.Errorf("err = %v", err)
	}
}
