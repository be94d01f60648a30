package compose

import (
	"fmt"
	"path"
	"strings"
)

// The lock service of the lock scenarios: a 3-member etcd cluster of its
// own (Patroni's one-member etcd stays apart).
const (
	SvcLocks0 = "locks0"
	SvcLocks1 = "locks1"
	SvcLocks2 = "locks2"
)

// LockMembers are the lock cluster's members, in order.
var LockMembers = []string{SvcLocks0, SvcLocks1, SvcLocks2}

var (
	locks0 = lockMember(SvcLocks0, 22)
	locks1 = lockMember(SvcLocks1, 24)
	locks2 = lockMember(SvcLocks2, 26)
)

// lockMember is one member: its clients reach it through links, its peers
// directly. A member killed and started again rejoins from its data dir.
func lockMember(name string, offset int) Spec {
	return Spec{
		Name:    name,
		Offsets: map[string]int{"main": offset, "peer": offset + 1},
		Image:   ImageDebian,
		State:   true,
		Health:  Health{Kind: HealthEtcd},
		Command: func(a Addressing) []string {
			var cluster []string
			for _, m := range LockMembers {
				cluster = append(cluster, m+"=http://"+a.Reach(m, "peer"))
			}
			return []string{"etcd",
				"--name", name,
				"--data-dir", path.Join(a.Dir(name), "data"),
				"--listen-client-urls", "http://" + a.Listen(name, "main"),
				"--advertise-client-urls", "http://" + a.Reach(name, "main"),
				"--listen-peer-urls", "http://" + a.Listen(name, "peer"),
				"--initial-advertise-peer-urls", "http://" + a.Reach(name, "peer"),
				"--initial-cluster", strings.Join(cluster, ","),
				"--initial-cluster-state", "new",
				"--initial-cluster-token", fmt.Sprintf("locks-%d", a.Base()),
				"--logger", "zap",
				"--log-outputs", "stderr",
			}
		},
	}
}
