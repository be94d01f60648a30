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
	at := addr(s.Port(s.HealthPort()))
	none := func(err error) (string, error) { return "", err }
	switch s.Health.Kind {
	case compose.HealthHTTP:
		url := "http://" + at + s.Health.Path
		return func(ctx context.Context) (string, error) { return none(httpOK(ctx, url)) }, nil
	case compose.HealthEtcd:
		return func(ctx context.Context) (string, error) { return none(etcdHealthy(ctx, at)) }, nil
	case compose.HealthPatroni:
		// After a Kill, Patroni first reports "running" as a replica on the
		// old timeline, then stops it for pg_rewind: "running" alone would
		// be premature.
		rest, pg := addr(s.Port("rest")), addr(s.Port("main"))
		return func(ctx context.Context) (string, error) { return pgNodeHealthy(ctx, rest, pg) }, nil
	case compose.HealthHAProxy:
		rests := map[string]string{}
		for _, n := range compose.PGNodes {
			rests[n.Name] = addr(topo.Service(n.Name).Port("rest"))
		}
		return func(ctx context.Context) (string, error) { return haproxyHealthy(ctx, s, rests) }, nil
	case compose.HealthPG:
		return func(ctx context.Context) (string, error) {
			var one int
			return none(pgQuery(ctx, at, "SELECT 1", &one))
		}, nil
	case compose.HealthRedis:
		return func(ctx context.Context) (string, error) { return none(redisPing(ctx, at)) }, nil
	case compose.HealthCluster:
		masters := len(compose.RedisClusterNodes)
		return func(ctx context.Context) (string, error) { return clusterNodeHealthy(ctx, at, masters) }, nil
	case compose.HealthKafka:
		return func(ctx context.Context) (string, error) { return none(kafkaAPIVersions(ctx, at)) }, nil
	}
	return nil, fmt.Errorf("local: no health check of kind %q for service %q", s.Health.Kind, svc)
}
