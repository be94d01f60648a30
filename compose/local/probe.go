package local

import (
	"context"
	"fmt"

	"github.com/whatif-lab/whatif/compose"
)

// Probe is the readiness check of a service as the host sees it, at the
// topology's loopback ports: etcd /health, a pg node running as leader or
// as a replica that streams WAL, HAProxy settled with one writable leader,
// a SELECT through PgBouncer, Redis PING, a Redis Cluster node that sees
// cluster_state:ok with every master known, Kafka ApiVersions, the api's
// /health. Both backends use it, so "healthy" means the same in each. The
// detail says e.g. the Patroni role.
func Probe(topo compose.Topology, svc string) (func(ctx context.Context) (detail string, err error), error) {
	s := topo.Service(svc)
	main := func() string { return addr(s.Port("main")) }
	switch svc {
	case compose.SvcEtcd:
		return func(ctx context.Context) (string, error) { return "", etcdHealthy(ctx, main()) }, nil
	case compose.SvcPG0, compose.SvcPG1:
		// After a Kill, Patroni first reports "running" as a replica on the
		// old timeline, then stops it for pg_rewind: "running" alone would
		// be premature.
		rest, pg := addr(s.Port("rest")), main()
		return func(ctx context.Context) (string, error) { return pgNodeHealthy(ctx, rest, pg) }, nil
	case compose.SvcHAProxy:
		rests := map[string]string{}
		for _, n := range []string{compose.SvcPG0, compose.SvcPG1} {
			rests[n] = addr(topo.Service(n).Port("rest"))
		}
		return func(ctx context.Context) (string, error) { return haproxyHealthy(ctx, s, rests) }, nil
	case compose.SvcPgBouncer:
		return func(ctx context.Context) (string, error) {
			var one int
			return "", pgQuery(ctx, main(), "SELECT 1", &one)
		}, nil
	case compose.SvcRedis:
		return func(ctx context.Context) (string, error) { return "", redisPing(ctx, main()) }, nil
	case compose.SvcRC0, compose.SvcRC1, compose.SvcRC2:
		masters := len(compose.RedisClusterNodes)
		return func(ctx context.Context) (string, error) { return clusterNodeHealthy(ctx, main(), masters) }, nil
	case compose.SvcBroker:
		return func(ctx context.Context) (string, error) { return "", kafkaAPIVersions(ctx, main()) }, nil
	case compose.SvcAPI, compose.SvcApp0, compose.SvcApp1:
		return func(ctx context.Context) (string, error) { return "", httpOK(ctx, "http://"+main()+"/health") }, nil
	case compose.SvcToxiproxy:
		return func(ctx context.Context) (string, error) { return "", httpOK(ctx, "http://"+main()+"/version") }, nil
	}
	return nil, fmt.Errorf("local: no health check for service %q", svc)
}
