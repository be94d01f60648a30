package local

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/compose"
)

// rendered renders every service of topo as Start would, with RunDir /run/x.
func rendered(t *testing.T, topo compose.Topology, timers PatroniTimers) (cmd func(svc string) []string, file func(svc, name string) string) {
	t.Helper()
	a, err := newAddressing(Config{Topology: topo, RunDir: "/run/x", Patroni: timers}, topo.ServiceNames())
	if err != nil {
		t.Fatal(err)
	}
	cmd = func(svc string) []string { return topo.Service(svc).Command(a)[1:] }
	file = func(svc, name string) string { return topo.Service(svc).Files(a)[name] }
	return cmd, file
}

func argAfter(args []string, flag string) string {
	i := slices.Index(args, flag)
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	return args[i+1]
}

// TestRenderedPorts checks that every rendered config puts each listener
// and each dependency address where the topology says, for two bases.
func TestRenderedPorts(t *testing.T) {
	for _, base := range []int{15400, 17000} {
		topo := compose.Default(base)
		svc := func(n, port string) string { return compose.Addr(topo.Service(n).Port(port)) }
		link := topo.LinkAddr

		cmd, file := rendered(t, topo, DefaultPatroniTimers)
		pg0 := []byte(file(compose.SvcPG0, "patroni.yml"))
		var p struct {
			Restapi struct {
				Listen         string `json:"listen"`
				ConnectAddress string `json:"connect_address"`
			} `json:"restapi"`
			Etcd       struct{ Host string } `json:"etcd"`
			Postgresql struct {
				Listen         string `json:"listen"`
				ConnectAddress string `json:"connect_address"`
				DataDir        string `json:"data_dir"`
			} `json:"postgresql"`
			Bootstrap struct {
				DCS struct {
					TTL          int `json:"ttl"`
					LoopWait     int `json:"loop_wait"`
					RetryTimeout int `json:"retry_timeout"`
					Postgresql   struct {
						UsePgRewind bool           `json:"use_pg_rewind"`
						UseSlots    bool           `json:"use_slots"`
						Parameters  map[string]any `json:"parameters"`
					} `json:"postgresql"`
				} `json:"dcs"`
			} `json:"bootstrap"`
		}
		if err := json.Unmarshal(pg0, &p); err != nil {
			t.Fatal(err)
		}

		ha := file(compose.SvcHAProxy, "haproxy.cfg")
		bouncer := file(compose.SvcPgBouncer, "pgbouncer.ini")
		etcd := cmd(compose.SvcEtcd)
		api := cmd(compose.SvcAPI)
		broker := cmd(compose.SvcBroker)
		redisA := cmd(compose.SvcRedis)

		cases := []struct {
			name      string
			got, want string
		}{
			{"patroni rest listen", p.Restapi.Listen, svc(compose.SvcPG0, "rest")},
			{"patroni rest connect", p.Restapi.ConnectAddress, svc(compose.SvcPG0, "rest")},
			{"patroni etcd via proxy", p.Etcd.Host, link(compose.LinkPatroniEtcd)},
			{"postgres listen", p.Postgresql.Listen, svc(compose.SvcPG0, "main")},
			{"postgres connect via proxy", p.Postgresql.ConnectAddress, link(compose.LinkReplPG0)},
			{"data dir", p.Postgresql.DataDir, "/run/x/pg0/data"},
			{"ttl", fmt.Sprint(p.Bootstrap.DCS.TTL), "5"},
			{"loop_wait", fmt.Sprint(p.Bootstrap.DCS.LoopWait), "1"},
			{"retry_timeout", fmt.Sprint(p.Bootstrap.DCS.RetryTimeout), "2"},
			{"use_pg_rewind", fmt.Sprint(p.Bootstrap.DCS.Postgresql.UsePgRewind), "true"},
			{"use_slots", fmt.Sprint(p.Bootstrap.DCS.Postgresql.UseSlots), "false"},
			{"wal_log_hints", fmt.Sprint(p.Bootstrap.DCS.Postgresql.Parameters["wal_log_hints"]), "on"},
			{"etcd client", argAfter(etcd, "--listen-client-urls"), "http://" + svc(compose.SvcEtcd, "main")},
			{"etcd advertise is the proxy", argAfter(etcd, "--advertise-client-urls"), "http://" + link(compose.LinkPatroniEtcd)},
			{"etcd peer", argAfter(etcd, "--listen-peer-urls"), "http://" + svc(compose.SvcEtcd, "peer")},
			{"redis port", argAfter(redisA, "--port"), fmt.Sprint(topo.Service(compose.SvcRedis).Port("main"))},
			{"redis no rdb", argAfter(redisA, "--save"), ""},
			{"broker listen", argAfter(broker, "--listen"), svc(compose.SvcBroker, "main")},
			{"broker advertise", argAfter(broker, "--advertise"), link(compose.LinkBroker)},
			{"api listen", argAfter(api, "--listen"), svc(compose.SvcAPI, "main")},
			{"api redis", argAfter(api, "--redis"), link(compose.LinkRedis)},
			{"api primary", argAfter(api, "--pg-primary"), "postgres://postgres@" + link(compose.LinkPrimary) + "/postgres?sslmode=disable"},
			{"api replica", argAfter(api, "--pg-replica"), "postgres://postgres@" + link(compose.LinkReplica) + "/postgres?sslmode=disable"},
			{"api pgbouncer", argAfter(api, "--pgbouncer"), "postgres://postgres@" + link(compose.LinkPgBouncer) + "/postgres?sslmode=disable"},
			{"api broker", argAfter(api, "--broker"), link(compose.LinkBroker)},
		}
		{
			var want []string
			for _, l := range topo.Links {
				if l.From == compose.SvcAPI && (l.To == compose.SvcPG0 || l.To == compose.SvcPG1) {
					want = append(want, compose.Addr(l.Listen))
				}
			}
			cases = append(cases, struct {
				name      string
				got, want string
			}{"api pg-direct", argAfter(api, "--pg-direct"),
				"postgres://postgres@" + strings.Join(want, ",") + "/postgres?sslmode=disable&target_session_attrs=read-write"})
		}
		for _, c := range cases {
			if c.got != c.want {
				t.Errorf("base %d: %s = %q, want %q", base, c.name, c.got, c.want)
			}
		}

		lines := []string{
			"bind " + svc(compose.SvcHAProxy, "main"),
			"bind " + svc(compose.SvcHAProxy, "read"),
			"bind " + svc(compose.SvcHAProxy, "stats"),
			"option httpchk OPTIONS /primary",
			"option httpchk OPTIONS /replica",
			"http-check expect status 200",
			"on-marked-down shutdown-sessions",
			fmt.Sprintf("server pg0 %s check addr 127.0.0.1 port %d", link(compose.LinkHAPG0), topo.Service(compose.SvcPG0).Port("rest")),
			fmt.Sprintf("server pg1 %s check addr 127.0.0.1 port %d", link(compose.LinkHAPG1), topo.Service(compose.SvcPG1).Port("rest")),
			fmt.Sprintf("server pg0_leader %s backup track pg_write/pg0 on-marked-down shutdown-sessions", link(compose.LinkHAPG0)),
			fmt.Sprintf("server pg1_leader %s backup track pg_write/pg1 on-marked-down shutdown-sessions", link(compose.LinkHAPG1)),
		}
		for _, l := range lines {
			if !strings.Contains(ha, l) {
				t.Errorf("base %d: haproxy config lacks %q", base, l)
			}
		}
		for _, l := range []string{
			fmt.Sprintf("* = host=127.0.0.1 port=%d", topo.Link(compose.LinkBouncerPG).Listen),
			"listen_addr = 127.0.0.1",
			fmt.Sprintf("listen_port = %d", topo.Service(compose.SvcPgBouncer).Port("main")),
			"pool_mode = transaction",
			"auth_type = trust",
			"auth_file = /run/x/pgbouncer/userlist.txt",
		} {
			if !strings.Contains(bouncer, l+"\n") {
				t.Errorf("base %d: pgbouncer config lacks %q", base, l)
			}
		}
	}
}

func TestPatroniConfigPerNode(t *testing.T) {
	topo := compose.Default(17000)
	_, file := rendered(t, topo, PatroniTimers{TTL: 10, LoopWait: 1, RetryTimeout: 4})
	for node, link := range map[string]string{compose.SvcPG0: compose.LinkReplPG0, compose.SvcPG1: compose.LinkReplPG1} {
		s := file(node, "patroni.yml")
		for _, want := range []string{
			`"name": "` + node + `"`,
			`"connect_address": "` + topo.LinkAddr(link) + `"`,
			`"ttl": 10`, `"retry_timeout": 4`,
			`"method": "template"`,
			`"data_dir": "/run/x/` + node + `/data"`,
		} {
			if !strings.Contains(s, want) {
				t.Errorf("%s config lacks %s", node, want)
			}
		}
		if strings.Contains(s, "initdb") {
			t.Errorf("%s: local nodes copy the template, they run no initdb", node)
		}
	}
}
