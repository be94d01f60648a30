package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/internal/clock"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 15, case A: a seat checkout holds a lock in Redis; the holder
// stops (the seed's GC pause, here SIGSTOP) for longer than the lock's
// TTL; the other worker takes the lock and books the seat; the first
// resumes, believes it still holds the lock, and books the seat too.
const (
	bookingRate = 20 // checkouts/s at normal load; peak is 10x
	bookOp      = "book"
	// lockTTL is the seat lock's TTL; holderPause is how long the fault
	// stops a worker (the seed's 8 s pause against a shorter TTL, both cut
	// so that a quick run's fault holds several), pauseGap the time
	// between two pauses.
	lockTTL     = time.Second
	holderPause = 2500 * time.Millisecond
	pauseGap    = 1500 * time.Millisecond
	// A checkout holds its seat for checkoutHold; every slowEvery-th
	// seat's first customer takes slowHold (the seed's case D: card entry
	// that outlasts the lock's TTL).
	checkoutHold = 100 * time.Millisecond
	slowHold     = 1500 * time.Millisecond
	slowEvery    = 10
	bookTimeout  = 10 * time.Second
)

var bookers = []string{compose.SvcBookerA, compose.SvcBookerB}

var lockExpiry = Experiment{
	Name:     "lock-expiry",
	Title:    "Distributed lock expires mid-operation",
	Scenario: 15,
	Shows: "Two worker processes book seats under a seat lock in Redis (SET NX PX, released by compare-and-delete); " +
		"every seat has two customers, one on each worker, and a checkout reads the seat, charges, holds (card " +
		"entry and the payment call, a stand-in: time, no work) and books. The fault stops a worker with SIGSTOP " +
		"for 2.5 lock TTLs, again and again (the seed's GC pause). Unprotected: the lock expires under the " +
		"stopped holder, the other worker books the seat, and the holder resumes and books it too: a blind write, " +
		"so the ledger confirms the seat to two customers; a slow card entry that outlasts the TTL does the " +
		"same without any pause. Protected: fencing tokens (a counter in Redis taken with the lock; the seat's " +
		"read raises the database's fence to it, the write must still find it) refuse the resumed holder's write " +
		"and refund its customer, and lease renewal keeps a live holder's lock however long its checkout takes.",
	Services: bookers,
	Workers:  bookers,
	Load: Load{
		Rate:        bookingRate,
		MaxInFlight: 1000,
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: postBookings(e, bookers, true), Weight: 1}}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: bookTimeout} },
	},
	Mitigation: []string{"fencing_token", "lease_renewal"},
	Settings:   map[string]string{"lock_ttl": lockTTL.String()},
	Phases:     Phases{Baseline: 40 * time.Second, Fault: 40 * time.Second, Recovery: 40 * time.Second},
	Fault:      pauseHolders,
	Audit:      auditBookings(bookers),
	Watch: []string{"booker-a.booking.booked", "booker-b.booking.booked", "booker-a.booking.conflicts",
		"booker-b.booking.conflicts", "booker-a.booking.locks_lost", "booker-b.booking.locks_lost"},
	Gauges: []string{"booker-a.booking.in_flight", "booker-b.booking.in_flight"},
	Cascade: []Check{
		AtLeast("seats the ledger confirms to two customers or more", Fact("double_booked"), 1, Count),
		AtLeast("of those, seats where a holder had been stopped past its lock's TTL (the seed's GC race)", Fact("double_booked_paused"), 1, Count),
	},
	Holds: []Check{
		AtMost("seats the ledger confirms to two customers or more", Fact("double_booked"), 0, Count),
		AtMost("customers charged without a seat and not refunded", Fact("charged_unrefunded"), 0, Count),
		AtMost("customers refunded whose checkout never stood still (a live holder lost its lock)", Fact("refunded_live"), 0, Count),
		AtLeast("stopped holders whose write the database refused, customer refunded (the fault raced a holder)", Fact("refunded_paused"), 1, Count),
	},
}

// postBookings is POST /book/{seat}?user=&hold=: request seq is customer
// base+seq on seat base+seq/2, the even one on the first of the two
// bookers and the odd one on the second, so every seat has one customer
// on each worker. With slow, every slowEvery-th seat's first customer
// holds slowHold.
func postBookings(e *Env, two []string, slow bool) loadgen.Op {
	urls := []string{"http://" + e.Stack.ClientAddr(two[0], "main"), "http://" + e.Stack.ClientAddr(two[1], "main")}
	base := runBase(e)
	return &loadgen.HTTPOp{
		OpName: bookOp,
		Method: http.MethodPost,
		Client: e.HTTP,
		// held, taken or refunded: the customer was answered
		Expected: []int{http.StatusConflict},
		URL: func(seq uint64) (string, string) {
			seat, user := base+int64(seq/2), strconv.FormatInt(base+int64(seq), 10)
			hold := checkoutHold
			if slow && seq%2 == 0 && (seq/2)%slowEvery == 0 {
				hold = slowHold
			}
			return fmt.Sprintf("%s/book/%d?user=%s&hold=%s", urls[seq%2], seat, user, hold), user
		},
	}
}

// pauseHolders stops the bookers in turn, each for holderPause with
// pauseGap between, until its recovery; then both run.
func pauseHolders(e *Env) chaos.Fault {
	var stop context.CancelFunc
	var loopErr error
	done := make(chan struct{})
	c := e.Stack.Controller()
	return chaos.Func(fmt.Sprintf("SIGSTOP a seat-lock holder for %v every %v", holderPause, holderPause+pauseGap),
		func(ctx context.Context) error {
			lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
			stop = cancel
			go func() {
				defer close(done)
				for i := 0; lctx.Err() == nil; i++ {
					svc := bookers[i%len(bookers)]
					if err := c.Pause(lctx, svc); err != nil {
						if lctx.Err() == nil {
							loopErr = fmt.Errorf("pausing %s: %w", svc, err)
						}
						return
					}
					clock.Sleep(lctx, holderPause)
					if err := c.Resume(context.WithoutCancel(lctx), svc); err != nil {
						loopErr = fmt.Errorf("resuming %s: %w", svc, err)
						return
					}
					clock.Sleep(lctx, pauseGap)
				}
			}()
			return nil
		},
		func(ctx context.Context) error {
			if stop == nil {
				return nil
			}
			stop()
			<-done
			if loopErr != nil {
				return loopErr
			}
			for _, svc := range bookers {
				if err := c.Resume(ctx, svc); err != nil {
					return fmt.Errorf("resuming %s: %w", svc, err)
				}
			}
			return nil
		})
}
