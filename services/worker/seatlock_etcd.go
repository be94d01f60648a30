package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// etcdLocks are seat locks in etcd: a lease per checkout (its TTL the
// lock's, in whole seconds, at least etcd's minimum), and the lock a key
// under the seat's prefix (concurrency.Mutex): the oldest key holds it.
// The fence is the revision at which the lock was taken, which grows with
// every later holder: the seed's "pass etcd's revision number to the
// protected resource". With renewal the lease is kept alive while the
// checkout runs (etcd does that natively); without it the keep-alive is
// stopped once the lock is taken, and the lease runs out with its TTL.
type etcdLocks struct {
	cli   *clientv3.Client
	count *lockCounters
}

func newEtcdLocks(endpoints []string, count *lockCounters) (*etcdLocks, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	return &etcdLocks{cli: cli, count: count}, nil
}

func (l *etcdLocks) close() { l.cli.Close() }

type etcdLock struct {
	sess          *concurrency.Session
	mu            *concurrency.Mutex
	token         int64
	stopKeepAlive context.CancelFunc
}

func (h *etcdLock) fence() int64 { return h.token }

func (h *etcdLock) release(ctx context.Context) error {
	h.stopKeepAlive()
	return errors.Join(h.mu.Unlock(ctx), h.sess.Close())
}

func (l *etcdLocks) acquire(ctx context.Context, seat int64, ttl, wait time.Duration, renew bool) (seatLock, error) {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	lease, err := l.cli.Grant(wctx, int64(max(1, math.Ceil(ttl.Seconds()))))
	if err != nil {
		return nil, fmt.Errorf("etcd lease: %w", err)
	}
	kctx, stopKeepAlive := context.WithCancel(context.WithoutCancel(ctx))
	sess, err := concurrency.NewSession(l.cli, concurrency.WithLease(lease.ID), concurrency.WithContext(kctx))
	if err != nil {
		stopKeepAlive()
		return nil, fmt.Errorf("etcd session: %w", err)
	}
	mu := concurrency.NewMutex(sess, "/seats/"+strconv.FormatInt(seat, 10))
	for held := false; ; held = true {
		err := mu.TryLock(wctx)
		if err == nil {
			break
		}
		if !errors.Is(err, concurrency.ErrLocked) {
			stopKeepAlive()
			l.revoke(ctx, lease.ID)
			if held && wctx.Err() != nil && ctx.Err() == nil {
				return nil, errSeatHeld // the wait ran out during a try
			}
			return nil, fmt.Errorf("etcd lock: %w", err)
		}
		select {
		case <-wctx.Done():
			stopKeepAlive()
			l.revoke(ctx, lease.ID)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, errSeatHeld
		case <-time.After(lockPoll):
		}
	}
	if !renew {
		stopKeepAlive()
	}
	h := &etcdLock{sess: sess, mu: mu, token: mu.Header().Revision, stopKeepAlive: stopKeepAlive}
	if renew {
		go func() {
			// a session that ends before its release lost its lease
			<-sess.Done()
			if kctx.Err() == nil {
				l.count.lost.Add(1)
			}
		}()
	}
	return h, nil
}

// revoke lets a lease go at once (best effort: unrevoked, it runs out).
func (l *etcdLocks) revoke(ctx context.Context, id clientv3.LeaseID) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	_, _ = l.cli.Revoke(rctx, id)
}
