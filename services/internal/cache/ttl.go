package cache

import (
	"math/rand/v2"
	"time"
)

// TTL returns base plus a uniform random extra in [0, jitter]. Spreading
// expiries stops keys written together (a warm-up, a recovery) from all
// expiring in the same second and stampeding the database (seed: TTL jitter).
// A non-positive jitter returns base.
func TTL(base, jitter time.Duration) time.Duration {
	if jitter <= 0 {
		return base
	}
	return base + time.Duration(rand.Int64N(int64(jitter)+1))
}
