package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// A seat lock in Redis: SET NX PX with a value only its holder knows, so
// renewing and releasing compare before they act (a holder whose lock
// expired never extends or deletes the next holder's). Taking the lock
// also increments the seat's fence counter: the token the holder shows
// the database with fencing_token on.
var (
	acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
	local f = redis.call('INCR', KEYS[2])
	redis.call('PEXPIRE', KEYS[2], 3600000)
	return f
end
return 0`)
	renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0`)
)

// errSeatHeld: another checkout held the seat's lock for the whole wait.
var errSeatHeld = errors.New("seat held by another checkout")

// lockPoll is how often a waiting checkout tries the lock again.
const lockPoll = 20 * time.Millisecond

type redisLocks struct {
	rdb   *redis.Client
	owner string // this process, in every lock value
	seq   atomic.Int64
}

// heldLock is one acquisition: its value and its fence token.
type heldLock struct {
	l     *redisLocks
	key   string
	value string
	fence int64
}

func lockKey(seat int64) string  { return "seat-lock:" + strconv.FormatInt(seat, 10) }
func fenceKey(seat int64) string { return "seat-fence:" + strconv.FormatInt(seat, 10) }

// acquire takes the seat's lock for ttl, trying every lockPoll for up to
// wait; errSeatHeld when it stayed taken, the Redis error when Redis did
// not answer.
func (l *redisLocks) acquire(ctx context.Context, seat int64, ttl, wait time.Duration) (*heldLock, error) {
	h := &heldLock{l: l, key: lockKey(seat), value: l.owner + "-" + strconv.FormatInt(l.seq.Add(1), 10)}
	deadline := time.Now().Add(wait)
	for {
		f, err := acquireScript.Run(ctx, l.rdb, []string{h.key, fenceKey(seat)}, h.value, ttl.Milliseconds()).Int64()
		if err != nil {
			return nil, fmt.Errorf("seat lock: %w", err)
		}
		if f > 0 {
			h.fence = f
			return h, nil
		}
		if time.Now().After(deadline) {
			return nil, errSeatHeld
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// renew extends the lock to ttl from now; false when it is no longer ours.
func (h *heldLock) renew(ctx context.Context, ttl time.Duration) (bool, error) {
	n, err := renewScript.Run(ctx, h.l.rdb, []string{h.key}, h.value, ttl.Milliseconds()).Int64()
	return n == 1, err
}

// release deletes the lock if it is still ours.
func (h *heldLock) release(ctx context.Context) error {
	return releaseScript.Run(ctx, h.l.rdb, []string{h.key}, h.value).Err()
}
