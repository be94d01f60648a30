package compose

const SvcRedis = "redis"

// redis is the api's cache.
var redis = Spec{
	Name:    SvcRedis,
	Offsets: map[string]int{"main": 10},
	Image:   ImageDebian,
	State:   true,
	Health:  Health{Kind: HealthRedis},
	Command: func(a Addressing) []string { return redisServer(a, SvcRedis) },
}

// redisServer runs a redis-server in the foreground with no persistence:
// the cache and the cluster nodes alike.
func redisServer(a Addressing, svc string) []string {
	host, port := SplitHostPort(a.Listen(svc, "main"))
	return []string{"redis-server",
		"--port", itoa(port),
		"--bind", host,
		"--protected-mode", "no",
		"--save", "",
		"--appendonly", "no",
		"--dir", a.Dir(svc),
		"--daemonize", "no",
		"--logfile", "",
	}
}
