package compose

import "strings"

// The api's name, its app instances' (the api binary again, behind
// HAProxy's "apps" port, each under AppMemLimit and restarted when it
// dies: app-oom), and the links the api dials.
const (
	SvcAPI  = "api"
	SvcApp0 = "app0"
	SvcApp1 = "app1"

	LinkRedis     = "api_redis"      // api -> redis
	LinkPrimary   = "api_pg_primary" // api -> haproxy write (leader)
	LinkReplica   = "api_pg_replica" // api -> haproxy read
	LinkPgBouncer = "api_pgbouncer"  // api -> pgbouncer
	LinkBroker    = "api_broker"     // api -> broker
	LinkAPIPG0    = "api_pg0"        // api -> pg0 directly (writes when db_proxy is off)
	LinkAPIPG1    = "api_pg1"        // api -> pg1 directly
	LinkRC0       = "api_rc0"        // api -> redis cluster node rc0
	LinkRC1       = "api_rc1"        // api -> rc1
	LinkRC2       = "api_rc2"        // api -> rc2
)

// AppInstances are the API instances behind the load balancer.
var AppInstances = []string{SvcApp0, SvcApp1}

// api is our HTTP API. It also runs the checkout workers that apply
// queued checkouts (the app instances only serve exports).
var api = Spec{
	Name:    SvcAPI,
	Offsets: map[string]int{"main": 1},
	Dials: []Dial{
		{LinkRedis, SvcRedis, "main"},
		{LinkPrimary, SvcHAProxy, "main"},
		{LinkReplica, SvcHAProxy, "read"},
		{LinkPgBouncer, SvcPgBouncer, "main"},
		{LinkBroker, SvcBroker, "main"},
		{LinkAPIPG0, SvcPG0, "main"},
		{LinkAPIPG1, SvcPG1, "main"},
		{LinkRC0, SvcRC0, "main"},
		{LinkRC1, SvcRC1, "main"},
		{LinkRC2, SvcRC2, "main"},
	},
	// It caches in Redis and migrates and seeds the primary at start;
	// the rest of its links are optional.
	Needs:  []string{SvcRedis, SvcHAProxy},
	After:  []string{SvcRedis, SvcHAProxy, SvcPgBouncer, SvcBroker, SvcRC0, SvcRC1, SvcRC2},
	Image:  ImageAPI,
	Health: Health{Kind: HealthHTTP, Path: "/health"},
	Command: func(a Addressing) []string {
		args := apiCommand(a, SvcAPI)
		if a.Runs(SvcBroker) {
			args = append(args, "--checkout-workers", itoa(CheckoutWorkers))
		}
		return args
	},
}

// appInstance is the api binary again, behind HAProxy's "apps" port, under
// AppMemLimit and restarted when it dies (app-oom). To the dependencies
// it is the api: it dials the api's links.
func appInstance(name string, offset int) Spec {
	return Spec{
		Name:     name,
		Offsets:  map[string]int{"main": offset},
		Needs:    []string{SvcAPI, SvcHAProxy},
		After:    []string{SvcAPI}, // after the api's start-up migration: no race to create the schema
		Image:    ImageAPI,
		MemLimit: AppMemLimit,
		Restart:  true,
		Health:   Health{Kind: HealthHTTP, Path: "/health"},
		Command: func(a Addressing) []string {
			// its switches survive its restarts
			return append(apiCommand(a, name), "--state-file", ConfigFile(a, name, "state.json"))
		},
	}
}

var (
	app0 = appInstance(SvcApp0, 2)
	app1 = appInstance(SvcApp1, 3)
)

// apiCommand is the command line of an api process listening as svc,
// with every link whose upstream runs in this stack.
func apiCommand(a Addressing, svc string) []string {
	args := []string{"whatif-api",
		"--listen", a.Listen(svc, "main"),
		"--redis", a.Link(LinkRedis),
		"--pg-primary", PGURL(a.Link(LinkPrimary)),
		"--pg-replica", PGURL(a.Link(LinkReplica)),
	}
	if a.Runs(SvcPgBouncer) {
		args = append(args, "--pgbouncer", PGURL(a.Link(LinkPgBouncer)))
	}
	if a.Runs(SvcBroker) {
		args = append(args, "--broker", a.Link(LinkBroker))
	}
	// the nodes announce the same addresses, so the api can name the
	// node of every command
	var seeds []string
	for _, n := range RedisClusterNodes {
		if a.Runs(n) {
			seeds = append(seeds, n+"="+a.Link(ClusterLink(n)))
		}
	}
	if len(seeds) > 0 {
		args = append(args, "--redis-cluster", strings.Join(seeds, ","))
	}
	// a multi-host DSN that bypasses HAProxy (writes when db_proxy is off)
	args = append(args, "--pg-direct", "postgres://postgres@"+a.Link(LinkAPIPG0)+","+a.Link(LinkAPIPG1)+
		"/postgres?sslmode=disable&target_session_attrs=read-write")
	return args
}
