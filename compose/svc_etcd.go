package compose

import (
	"fmt"
	"path"
)

const SvcEtcd = "etcd"

// etcd is Patroni's DCS: one member, reached by Patroni through a link.
var etcd = Spec{
	Name:    SvcEtcd,
	Offsets: map[string]int{"main": 20, "peer": 21},
	Image:   ImageDebian,
	State:   true,
	Health:  Health{Kind: HealthEtcd},
	Command: func(a Addressing) []string {
		name := fmt.Sprintf("etcd-%d", a.Base())
		peer := "http://" + a.Reach(SvcEtcd, "peer")
		return []string{"etcd",
			"--name", name,
			"--data-dir", path.Join(a.Dir(SvcEtcd), "data"),
			"--listen-client-urls", "http://" + a.Listen(SvcEtcd, "main"),
			// Clients (Patroni) only ever learn the proxy address.
			"--advertise-client-urls", "http://" + a.Link(LinkPatroniEtcd),
			"--listen-peer-urls", "http://" + a.Listen(SvcEtcd, "peer"),
			"--initial-advertise-peer-urls", peer,
			"--initial-cluster", name + "=" + peer,
			"--initial-cluster-state", "new",
			"--initial-cluster-token", name,
			// Patroni speaks the v2 API: its leader key is a TTL key updated
			// with compare-and-swap on the owner's name. With the etcd3 client
			// (Patroni 3.0.2) a leader frozen by SIGSTOP retook the lock after
			// it woke up and the promoted node was rewound: acked writes lost.
			"--enable-v2=true",
			"--logger", "zap",
			"--log-outputs", "stderr",
		}
	},
}
