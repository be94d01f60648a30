package compose

import "strings"

// The seat-booking workers of the lock scenarios and the links they dial.
const (
	SvcBookerA     = "booker-a"  // seat locks in Redis
	SvcBookerB     = "booker-b"  // seat locks in Redis
	SvcEBookerA    = "ebooker-a" // seat locks in the etcd lock cluster
	SvcEBookerB    = "ebooker-b" // seat locks in the etcd lock cluster
	LinkBookerARed = "booker_a_redis"
	LinkBookerAPG  = "booker_a_pg"
	LinkBookerBRed = "booker_b_redis"
	LinkBookerBPG  = "booker_b_pg"
	LinkEBookerAPG = "ebooker_a_pg"
	LinkEBookerBPG = "ebooker_b_pg"
)

// bookerA and bookerB are the worker binary's booking pipeline: seat
// checkouts under a lock in the cache's Redis, booked in the leader's
// database (through HAProxy), each on its own links.
var (
	bookerA = bookerSpec(SvcBookerA, 97, LinkBookerARed, LinkBookerAPG)
	bookerB = bookerSpec(SvcBookerB, 98, LinkBookerBRed, LinkBookerBPG)
)

func bookerSpec(name string, offset int, redisLink, pg string) Spec {
	return Spec{
		Name:    name,
		Offsets: map[string]int{"main": offset},
		Dials: []Dial{
			{redisLink, SvcRedis, "main"},
			{pg, SvcHAProxy, "main"},
		},
		Needs:  []string{SvcRedis, SvcHAProxy},
		Image:  ImageWorker,
		Health: Health{Kind: HealthHTTP, Path: "/health"},
		Command: func(a Addressing) []string {
			return []string{"whatif-worker",
				"--listen", a.Listen(name, "main"),
				"--redis", a.Link(redisLink),
				"--pg", PGURL(a.Link(pg)),
				"--pipeline", "booking",
				"--name", name,
			}
		},
	}
}

// ebookerA and ebookerB are the same checkouts with their seat locks in
// the etcd lock cluster, one link per member each.
var (
	ebookerA = ebookerSpec(SvcEBookerA, 99, LinkEBookerAPG)
	ebookerB = ebookerSpec(SvcEBookerB, 28, LinkEBookerBPG)
)

// ebookerLink names the link from an etcd booker to a lock member.
func ebookerLink(booker, member string) string {
	return strings.ReplaceAll(booker, "-", "_") + "_" + member
}

func ebookerSpec(name string, offset int, pg string) Spec {
	dials := []Dial{{pg, SvcHAProxy, "main"}}
	for _, m := range LockMembers {
		dials = append(dials, Dial{ebookerLink(name, m), m, "main"})
	}
	return Spec{
		Name:    name,
		Offsets: map[string]int{"main": offset},
		Dials:   dials,
		Needs:   append([]string{SvcHAProxy}, LockMembers...),
		Image:   ImageWorker,
		Health:  Health{Kind: HealthHTTP, Path: "/health"},
		Command: func(a Addressing) []string {
			var members []string
			for _, m := range LockMembers {
				members = append(members, a.Link(ebookerLink(name, m)))
			}
			return []string{"whatif-worker",
				"--listen", a.Listen(name, "main"),
				"--etcd", strings.Join(members, ","),
				"--pg", PGURL(a.Link(pg)),
				"--pipeline", "booking",
				"--name", name,
			}
		},
	}
}
