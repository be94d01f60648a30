package scenarios

import (
	"context"
	"fmt"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 15, case B: the lock service (a 3-member etcd cluster) loses
// two members and with them its quorum; no lock can be taken until one
// comes back.
var ebookers = []string{compose.SvcEBookerA, compose.SvcEBookerB}

// quorumVictims are the members the fault kills: two of three.
var quorumVictims = compose.LockMembers[1:]

var lockExpiryQuorum = Experiment{
	Name:     "lock-expiry-quorum",
	Title:    "Lock service loses quorum",
	Scenario: 15,
	Shows: "The same seat checkouts as lock-expiry, with their locks in a 3-member etcd cluster of their own (a " +
		"lease per checkout, kept alive while it runs; the lock's revision is its token). The fault SIGKILLs two " +
		"of the three members: no lease can be granted and no lock taken until the operator starts them again " +
		"at the fault's end. Unprotected: the checkout treats the lock as best effort and goes on without it " +
		"when the lock service does not answer (3 s), so both customers of a seat read it free, are charged and " +
		"are confirmed. Protected: the checkout fails closed, a clear 503 before any charge, and bookings resume " +
		"once quorum is back. Fencing is off in both runs: here the lock alone guards the seat (lock-expiry " +
		"shows fencing). No card entry outlasts the lock here: every checkout holds 100 ms.",
	Services: append(append([]string{}, ebookers...), compose.LockMembers...),
	Workers:  ebookers,
	Load: Load{
		Rate:        bookingRate,
		MaxInFlight: 1000,
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: postBookings(e, ebookers, false), Weight: 1}}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: bookTimeout} },
	},
	Mitigation: []string{"fail_closed"},
	Off:        []string{"fencing_token"},
	Settings:   map[string]string{"lock_ttl": lockTTL.String()},
	Phases:     Phases{Baseline: 40 * time.Second, Fault: 40 * time.Second, Recovery: 40 * time.Second},
	Fault:      killQuorum,
	Audit:      auditQuorum,
	Watch: []string{"ebooker-a.booking.booked", "ebooker-b.booking.booked", "ebooker-a.booking.lock_errors",
		"ebooker-b.booking.lock_errors", "ebooker-a.booking.unlocked", "ebooker-b.booking.unlocked"},
	Gauges: []string{"ebooker-a.booking.in_flight", "ebooker-b.booking.in_flight"},
	Cascade: []Check{
		AtLeast("customers charged with no lock held (the lock service had no quorum)", Fact("charged_unlocked"), 1, Count),
		AtLeast("seats the ledger confirms to two customers or more", Fact("double_booked"), 1, Count),
	},
	Holds: []Check{
		AtLeast("checkouts during the quorum loss refused for want of a lock (503)", Fact("lock_refused_share"), 0.5, Percent),
		AtMost("customers charged with no lock held", Fact("charged_unlocked"), 0, Count),
		AtMost("seats the ledger confirms to two customers or more", Fact("double_booked"), 0, Count),
		AtMost("time from the members' restart to the first booking", Fact("resume_seconds"), 5, Seconds),
	},
}

// killQuorum SIGKILLs two of the lock cluster's three members; its
// recovery starts them again, as an operator would, and returns once
// both are back in the cluster.
func killQuorum(e *Env) chaos.Fault {
	c := e.Stack.Controller()
	return chaos.Func("SIGKILL two of the three lock-service (etcd) members",
		func(ctx context.Context) error {
			for _, m := range quorumVictims {
				if err := c.Kill(ctx, m); err != nil {
					return fmt.Errorf("killing %s: %w", m, err)
				}
			}
			return nil
		},
		func(ctx context.Context) error {
			for _, m := range quorumVictims {
				if err := c.Launch(ctx, m); err != nil {
					return fmt.Errorf("starting %s: %w", m, err)
				}
			}
			for _, m := range quorumVictims {
				if err := c.AwaitHealthy(ctx, m); err != nil {
					return fmt.Errorf("starting %s: %w", m, err)
				}
			}
			return nil
		})
}

// auditQuorum is the ledger's audit, plus what the bookers did while the
// cluster had no quorum (the share of their checkouts refused for a lock
// error) and how long after the members' restart the first booking came.
func auditQuorum(ctx context.Context, e *Env, r *Run) error {
	if err := awaitCheckouts(ctx, e, ebookers); err != nil {
		return err
	}
	conn, err := operator.Postgres(ctx, e.Topology, "main")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if err := readLedger(ctx, conn, e, r); err != nil {
		return err
	}
	from, ok1 := r.SampleAt(r.FaultAt)
	to, ok2 := r.SampleAt(r.RecoverAt)
	if ok1 && ok2 {
		var refused, attempts float64
		for _, svc := range ebookers {
			refused += to.Values[svc+".booking.lock_errors"] - from.Values[svc+".booking.lock_errors"]
			attempts += to.Values[svc+".booking.attempts"] - from.Values[svc+".booking.attempts"]
		}
		if attempts > 0 {
			r.SetFact("lock_refused_share", refused/attempts)
		}
	}
	restart := r.Start.Add(r.RecoverAt)
	var first *float64
	if err := conn.QueryRow(ctx, `SELECT extract(epoch FROM min(booked_at))::float8 FROM bookings
		WHERE seat >= $1 AND booked_at > to_timestamp($2)`, runBase(e), float64(restart.UnixNano())/1e9).Scan(&first); err != nil {
		return fmt.Errorf("ledger, first booking after the restart: %w", err)
	}
	if first != nil {
		r.SetFact("resume_seconds", *first-float64(restart.UnixNano())/1e9)
	}
	return nil
}
