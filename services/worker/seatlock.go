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

// seatLocks is where seat locks live: Redis (redisLocks) or etcd
// (etcdLocks). acquire answers errSeatHeld when another checkout held the
// lock for the whole wait, any other error when the lock service did not
// answer.
type seatLocks interface {
	acquire(ctx context.Context, seat int64, ttl, wait time.Duration, renew bool) (seatLock, error)
	close()
}

// seatLock is one acquisition (with renew, kept alive while the checkout
// runs). fence is its token: larger than every earlier holder's of the
// same seat.
type seatLock interface {
	fence() int64
	release(ctx context.Context) error
}

// lockPoll is how often a waiting checkout tries the lock again.
const lockPoll = 20 * time.Millisecond

// lockCounters are what the renewals did, over the process's life.
type lockCounters struct {
	renewals atomic.Int64 // renewals that extended a lock
	lost     atomic.Int64 // locks found taken by another (or their lease gone) while their checkout ran
}

type redisLocks struct {
	rdb   *redis.Client
	owner string // this process, in every lock value
	seq   atomic.Int64
	count *lockCounters
}

func (l *redisLocks) close() { l.rdb.Close() }

// heldLock is one Redis acquisition: its value, its fence token, and how
// to stop its renewal.
type heldLock struct {
	l     *redisLocks
	key   string
	value string
	token int64
	ttl   time.Duration
	stop  context.CancelFunc
}

func (h *heldLock) fence() int64 { return h.token }

func lockKey(seat int64) string  { return "seat-lock:" + strconv.FormatInt(seat, 10) }
func fenceKey(seat int64) string { return "seat-fence:" + strconv.FormatInt(seat, 10) }

// acquire takes the seat's lock for ttl, trying every lockPoll for up to
// wait; errSeatHeld when it stayed taken, the Redis error when Redis did
// not answer.
func (l *redisLocks) acquire(ctx context.Context, seat int64, ttl, wait time.Duration, renew bool) (seatLock, error) {
	h := &heldLock{l: l, key: lockKey(seat), value: l.owner + "-" + strconv.FormatInt(l.seq.Add(1), 10), ttl: ttl}
	deadline := time.Now().Add(wait)
	for {
		f, err := acquireScript.Run(ctx, l.rdb, []string{h.key, fenceKey(seat)}, h.value, ttl.Milliseconds()).Int64()
		if err != nil {
			return nil, fmt.Errorf("seat lock: %w", err)
		}
		if f > 0 {
			h.token = f
			rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
			h.stop = stop
			if renew {
				go h.renewWhileHeld(rctx)
			}
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

// renewWhileHeld extends the lock to ttl every third of it until ctx ends
// (the release), and stops once the lock is someone else's (Redis
// requires the periodic PEXPIRE that etcd's leases do natively).
func (h *heldLock) renewWhileHeld(ctx context.Context) {
	t := time.NewTicker(h.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := renewScript.Run(ctx, h.l.rdb, []string{h.key}, h.value, h.ttl.Milliseconds()).Int64()
		switch {
		case err != nil:
			continue // Redis may answer next time, before the lock runs out
		case n != 1:
			h.l.count.lost.Add(1)
			return
		}
		h.l.count.renewals.Add(1)
	}
}

// release stops the renewal and deletes the lock if it is still ours.
func (h *heldLock) release(ctx context.Context) error {
	h.stop()
	return releaseScript.Run(ctx, h.l.rdb, []string{h.key}, h.value).Err()
}
