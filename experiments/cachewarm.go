package experiments

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
)

// cache_warm is the seed's Redis recovery procedure, "warm first, then
// re-enable traffic": while Redis restarts, the API's link to it is down
// (redisFence), so the API keeps serving from L1 and the database; once
// Redis is back an operator's script loads the hottest keys (warmRedisStep)
// and only then the link comes back. Without cache_warm the API meets a
// cold cache.
func redisFence(e *Env) (chaos.Fault, error) {
	if !e.On("cache_warm") {
		return nil, nil
	}
	return chaos.Down(e.Toxi, compose.LinkRedis)
}

func warmRedisStep(ctx context.Context, e *Env) error {
	if !e.On("cache_warm") {
		return nil
	}
	return warmRedis(ctx, e.Topology, redisWarmTop)
}

// Redis layout the API reads: key item:<id>, value the payload, TTL base +
// jitter as the API's defaults (60s + up to 30s).
const (
	warmTTL    = 60 * time.Second
	warmJitter = 30 * time.Second
	warmBatch  = 500
)

// operatorConn connects to Postgres through one of HAProxy's ports ("main"
// = leader, "read" = replica), the way an operator's script would.
func operatorConn(ctx context.Context, top compose.Topology, port string) (*pgx.Conn, error) {
	return pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable&connect_timeout=5",
		compose.Addr(top.Service(compose.SvcHAProxy).Port(port))))
}

// operatorRedis connects to Redis directly, not through the API's link,
// as an operator's script would.
func operatorRedis(top compose.Topology) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: compose.Addr(top.Service(compose.SvcRedis).Port("main")), MaxRetries: -1})
}

// warmRedis is the operator's warming script: ids 1..top (the hottest keys
// under the zipf law, what L1 was covering) from the DB straight into Redis.
func warmRedis(ctx context.Context, top compose.Topology, n int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := operatorConn(ctx, top, "read")
	if err != nil {
		return fmt.Errorf("warm: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rdb := operatorRedis(top)
	defer rdb.Close()
	for lo := 1; lo <= n; lo += warmBatch {
		rows, err := conn.Query(ctx, `SELECT id, payload FROM items WHERE id BETWEEN $1 AND $2`, lo, min(lo+warmBatch-1, n))
		if err != nil {
			return fmt.Errorf("warm: %w", err)
		}
		pipe := rdb.Pipeline()
		for rows.Next() {
			var id int64
			var payload string
			if err := rows.Scan(&id, &payload); err != nil {
				rows.Close()
				return fmt.Errorf("warm: %w", err)
			}
			pipe.Set(ctx, fmt.Sprintf("item:%d", id), payload, warmTTL+rand.N(warmJitter))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("warm: %w", err)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("warm: redis: %w", err)
		}
	}
	return nil
}
