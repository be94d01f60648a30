package cache

import (
	"fmt"
	"net"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions are fail-fast client settings: when Redis is down every
// command must fail within a few milliseconds (refused dial) or at worst the
// short read timeout (stalled server), so callers fall through to the next
// layer at once instead of queueing behind retries.
func RedisOptions(addr string, poolSize int) (*redis.Options, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("redis address %q: want HOST:PORT: %w", addr, err)
	}
	if poolSize < 1 {
		return nil, fmt.Errorf("redis pool size must be at least 1, got %d", poolSize)
	}
	return &redis.Options{
		Addr:            addr,
		DialTimeout:     200 * time.Millisecond,
		ReadTimeout:     200 * time.Millisecond,
		WriteTimeout:    200 * time.Millisecond,
		PoolTimeout:     200 * time.Millisecond,
		PoolSize:        poolSize,
		MaxRetries:      -1, // no command retries: a miss costs one round trip
		DialerRetries:   1,  // one dial attempt, no backoff sleeps
		DisableIdentity: true,
	}, nil
}
