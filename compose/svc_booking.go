package compose

// The seat-booking workers of the lock scenario and the links they dial.
const (
	SvcBookerA     = "booker-a"
	SvcBookerB     = "booker-b"
	LinkBookerARed = "booker_a_redis"
	LinkBookerAPG  = "booker_a_pg"
	LinkBookerBRed = "booker_b_redis"
	LinkBookerBPG  = "booker_b_pg"
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
