package operator

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/compose"
)

// Postgres connects to Postgres through one of HAProxy's ports ("main"
// = leader, "read" = replica), the way an operator's script would.
func Postgres(ctx context.Context, top compose.Topology, port string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable&connect_timeout=5",
		compose.Addr(top.Service(compose.SvcHAProxy).Port(port))))
}

// Redis connects to Redis directly, not through the API's link,
// as an operator's script would.
func Redis(top compose.Topology) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: compose.Addr(top.Service(compose.SvcRedis).Port("main")), MaxRetries: -1})
}
