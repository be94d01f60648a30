package local

import (
	"slices"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/compose"
)

func TestSelectServices(t *testing.T) {
	topo := compose.Default(17000)
	cases := []struct {
		only []string
		want []string
	}{
		{nil, []string{"api", "app0", "app1", "broker", "etcd", "haproxy", "pg0", "pg1", "pgbouncer", "rc0", "rc1", "rc2", "redis"}},
		{[]string{"rc1"}, []string{"rc0", "rc1", "rc2"}},
		{[]string{"redis"}, []string{"redis"}},
		{[]string{"toxiproxy"}, []string{}},
		{[]string{"pg0"}, []string{"etcd", "pg0"}},
		{[]string{"pgbouncer"}, []string{"etcd", "haproxy", "pg0", "pg1", "pgbouncer"}},
		{[]string{"api"}, []string{"api", "broker", "etcd", "haproxy", "pg0", "pg1", "pgbouncer", "rc0", "rc1", "rc2", "redis"}},
		{[]string{"app1"}, []string{"api", "app1", "broker", "etcd", "haproxy", "pg0", "pg1", "pgbouncer", "rc0", "rc1", "rc2", "redis"}},
	}
	for _, c := range cases {
		got, err := selectServices(topo, c.only)
		if err != nil {
			t.Fatalf("%v: %v", c.only, err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Only %v -> %v, want %v", c.only, got, c.want)
		}
	}
	if _, err := selectServices(topo, []string{"kafka"}); err == nil || !strings.Contains(err.Error(), "unknown service") {
		t.Errorf("unknown service: err = %v", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Topology: compose.Default(17000)}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.RunDir != DefaultRunDir(17000) || c.Patroni != DefaultPatroniTimers || c.StartTimeout == 0 {
		t.Errorf("defaults: %+v", c)
	}
	bad := []Config{
		{Topology: compose.Default(17000), RunDir: "/tmp/has space"},
		{Topology: compose.Default(17000), RunDir: "/"},
		{Topology: compose.Default(17000), Patroni: PatroniTimers{TTL: 5, LoopWait: 1, RetryTimeout: 3}},
	}
	for _, b := range bad {
		if _, err := b.withDefaults(); err == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}
