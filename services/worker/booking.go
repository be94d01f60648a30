package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/services/internal/protections"
)

// The booking pipeline is the seed's scenario 15: seat checkouts under a
// distributed lock, by two (or more) worker processes. It reads no topic;
// it is its route, POST /book/{seat}. A checkout takes the seat's lock (in
// Redis, or in etcd with --etcd), reads the seat, charges the user, holds
// for the checkout (the
// user's card entry and the payment call, a stand-in: time, no work),
// then writes the booking. Three tables are the ledger: seats (owner and
// the highest fence token seen), bookings (one row per booking confirmed
// to a user) and charges (one per user charged, refunded or not).
var bookingPipeline = pipeline{
	locks: true,
	// two bookers share max_connections with Patroni and the API; a
	// checkout holds a connection only per statement
	pgConns:     16,
	protections: []string{protFencing, protRenewal, protFailClosed},
	schema: `CREATE TABLE IF NOT EXISTS seats (
			seat bigint PRIMARY KEY,
			owner bigint,
			fence bigint NOT NULL DEFAULT 0);
		CREATE TABLE IF NOT EXISTS bookings (
			seat bigint NOT NULL,
			user_id bigint NOT NULL,
			worker text NOT NULL,
			paused boolean NOT NULL,
			booked_at timestamptz NOT NULL DEFAULT clock_timestamp());
		CREATE INDEX IF NOT EXISTS bookings_seat ON bookings (seat);
		CREATE TABLE IF NOT EXISTS charges (
			user_id bigint PRIMARY KEY,
			seat bigint NOT NULL,
			worker text NOT NULL,
			locked boolean NOT NULL,
			charged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
			refunded_at timestamptz,
			paused boolean)`,
	reset:  `TRUNCATE seats, bookings, charges`,
	groups: func(*protections.Set) []groupPlan { return nil },
	routes: bookingRoutes,
}

// booking is the pipeline's state: its locks, its stall clock, counters.
type booking struct {
	locks  seatLocks
	count  *lockCounters
	stalls *stallClock
	name   string // this process, in the ledger
	stop   context.CancelFunc

	inFlight, attempts, booked, held, taken, stale, conflicts, lockErrs, unlocked, dbErrs atomic.Int64
}

// newBooking takes its seat locks from etcd when --etcd names its members,
// else from Redis.
func newBooking(cfg flags) (*booking, error) {
	name := cfg.name
	if name == "" {
		name = "pid" + strconv.Itoa(os.Getpid())
	}
	count := &lockCounters{}
	var locks seatLocks
	if len(cfg.etcd) > 0 {
		l, err := newEtcdLocks(cfg.etcd, count)
		if err != nil {
			return nil, err
		}
		locks = l
	} else {
		rdb := redis.NewClient(&redis.Options{Addr: cfg.redis, PoolSize: workerPGConns, MaxRetries: -1})
		locks = &redisLocks{rdb: rdb, owner: fmt.Sprintf("%s-%d", name, os.Getpid()), count: count}
	}
	ctx, stop := context.WithCancel(context.Background())
	b := &booking{locks: locks, count: count, stalls: newStallClock(), name: name, stop: stop}
	go b.stalls.run(ctx)
	return b, nil
}

func (b *booking) close() {
	b.stop()
	b.locks.close()
}

// bookingStats is the pipeline's part of GET /admin/stats; the counters
// are monotonic over the process's life.
type bookingStats struct {
	InFlight  int64 `json:"in_flight"` // checkouts running now
	Attempts  int64 `json:"attempts"`
	Booked    int64 `json:"booked"`
	Held      int64 `json:"held"`        // 409: the lock stayed taken for the whole wait
	Taken     int64 `json:"taken"`       // 409: the seat had an owner when read under the lock
	Stale     int64 `json:"stale"`       // 409: a newer holder's token had reached the seat before this one read it
	Conflicts int64 `json:"conflicts"`   // 409: the write found a newer holder's token; the user was refunded
	LockErrs  int64 `json:"lock_errors"` // the lock service did not answer: 503 (fail_closed), else went on unlocked
	Unlocked  int64 `json:"unlocked"`    // checkouts that went on without a lock (fail_closed off)
	DBErrs    int64 `json:"db_errors"`
	Lost      int64 `json:"locks_lost"` // renewals that found the lock taken by another
	Renewals  int64 `json:"renewals"`
	Stalls    int64 `json:"stalls"` // times this process stood still for stallGap or more
}

func (b *booking) stats() bookingStats {
	return bookingStats{
		InFlight: b.inFlight.Load(), Attempts: b.attempts.Load(), Booked: b.booked.Load(), Held: b.held.Load(), Taken: b.taken.Load(),
		Stale: b.stale.Load(), Conflicts: b.conflicts.Load(), LockErrs: b.lockErrs.Load(), Unlocked: b.unlocked.Load(),
		DBErrs: b.dbErrs.Load(), Lost: b.count.lost.Load(), Renewals: b.count.renewals.Load(), Stalls: b.stalls.stalls(),
	}
}
