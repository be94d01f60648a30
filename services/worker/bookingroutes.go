package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatif-lab/whatif/services/internal/httpx"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

// maxHold bounds ?hold=: a checkout is seconds, not hours.
const maxHold = time.Minute

// checkoutTimeout bounds one checkout once it holds the lock. The
// checkout goes on when its client gives up (a charge is never left
// half-done by a disconnect), as a server's request thread would.
const checkoutTimeout = 30 * time.Second

func bookingRoutes(w *worker, mux *http.ServeMux) {
	mux.HandleFunc("POST /book/{seat}", w.postBooking)
}

// postBooking is POST /book/{seat}?user=U&hold=D: user U checks seat out,
// holding it for D (the user's card entry and the payment, decided by the
// client) between the charge and the booking. 200: booked; 409: held,
// taken, or lost to a newer lock holder (refunded); 503: the lock or the
// database did not answer.
func (w *worker) postBooking(rw http.ResponseWriter, r *http.Request) {
	seat, err := strconv.ParseInt(r.PathValue("seat"), 10, 64)
	if err != nil || seat < 0 {
		httpx.Error(rw, http.StatusBadRequest, fmt.Sprintf("seat %q: want a non-negative integer", r.PathValue("seat")))
		return
	}
	q := r.URL.Query()
	user, err := strconv.ParseInt(q.Get("user"), 10, 64)
	if err != nil || user < 0 {
		httpx.Error(rw, http.StatusBadRequest, fmt.Sprintf("user=%q: want a non-negative integer", q.Get("user")))
		return
	}
	var hold time.Duration
	if v := q.Get("hold"); v != "" {
		if hold, err = time.ParseDuration(v); err != nil || hold < 0 || hold > maxHold {
			httpx.Error(rw, http.StatusBadRequest, fmt.Sprintf("hold=%q: want a duration in [0, %v]", v, maxHold))
			return
		}
	}
	b := w.book
	b.attempts.Add(1)
	b.inFlight.Add(1)
	defer b.inFlight.Add(-1)
	begun := time.Now()
	ttl := w.settings.get(knob.LockTTL)
	fence, release, status, body := w.lockSeat(r.Context(), seat, ttl)
	if release == nil {
		httpx.JSON(rw, status, body)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), checkoutTimeout)
	defer cancel()
	defer release()
	status, body = w.checkout(ctx, seat, user, hold, fence, begun)
	httpx.JSON(rw, status, body)
}

// lockSeat takes the seat's lock and returns its fence and how to let it
// go; with no release, the answer to send instead. A lock service that
// does not answer is a 503 with fail_closed on; off, the checkout goes on
// without a lock (fence 0, older than any holder's).
func (w *worker) lockSeat(ctx context.Context, seat int64, ttl time.Duration) (fence int64, release func(), status int, body map[string]any) {
	b := w.book
	lk, err := b.locks.acquire(ctx, seat, ttl, w.settings.get(knob.LockWait), w.prot.On(protRenewal))
	switch {
	case errors.Is(err, errSeatHeld):
		b.held.Add(1)
		return 0, nil, http.StatusConflict, errBody(err.Error())
	case err != nil && ctx.Err() != nil:
		// the customer gave up while waiting: nothing to charge them for
		return 0, nil, http.StatusServiceUnavailable, errBody("the request ended while waiting for the seat's lock")
	case err != nil && w.prot.On(protFailClosed):
		b.lockErrs.Add(1)
		return 0, nil, http.StatusServiceUnavailable, errBody("lock service unavailable: " + err.Error())
	case err != nil:
		b.lockErrs.Add(1)
		b.unlocked.Add(1)
		return 0, func() {}, 0, nil
	}
	return lk.fence(), func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		_ = lk.release(rctx) // an unreleased lock runs out with its TTL
	}, 0, nil
}

// releaseTimeout bounds a release: a lock service without quorum does not
// answer, and the lock then ends with its TTL.
const releaseTimeout = 2 * time.Second

// checkout is what the lock guards: read the seat, charge, hold, book.
func (w *worker) checkout(ctx context.Context, seat, user int64, hold time.Duration, fence int64, begun time.Time) (int, map[string]any) {
	b, fenced := w.book, w.prot.On(protFencing)
	owned, fresh, err := w.readSeat(ctx, seat, fence, fenced)
	switch {
	case err != nil:
		b.dbErrs.Add(1)
		return http.StatusServiceUnavailable, errBody("reading the seat: " + err.Error())
	case !fresh:
		b.stale.Add(1)
		return http.StatusConflict, errBody("a newer checkout holds this seat's lock")
	case owned:
		b.taken.Add(1)
		return http.StatusConflict, errBody("seat taken")
	}
	tag, err := w.db.Exec(ctx, `INSERT INTO charges (user_id, seat, worker, locked) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING`,
		user, seat, b.name, fence > 0)
	switch {
	case err != nil:
		b.dbErrs.Add(1)
		return http.StatusServiceUnavailable, errBody("charging: " + err.Error())
	case tag.RowsAffected() == 0:
		return http.StatusConflict, errBody(fmt.Sprintf("user %d has been charged already", user))
	}
	select {
	case <-ctx.Done():
	case <-time.After(hold):
	}
	paused := b.stalls.stalledSince(begun, time.Now())
	booked, err := w.writeBooking(ctx, seat, user, fence, fenced, paused)
	// a stop that came during the write is this checkout's too
	if late := b.stalls.stalledSince(begun, time.Now()); late && !paused {
		paused = true
		if booked && err == nil {
			_, err = w.db.Exec(ctx, `UPDATE bookings SET paused = true WHERE user_id = $1`, user)
		}
	}
	switch {
	case err != nil:
		b.dbErrs.Add(1)
		return http.StatusServiceUnavailable, errBody("booking: " + err.Error())
	case !booked:
		b.conflicts.Add(1)
		fmt.Fprintf(os.Stderr, "whatif-worker: seat %d: user %d's write refused (token %d, %v after the checkout began, stood still: %v); refunding\n",
			seat, user, fence, time.Since(begun).Round(time.Millisecond), paused)
		if _, err := w.db.Exec(ctx, `UPDATE charges SET refunded_at = clock_timestamp(), paused = $2 WHERE user_id = $1`, user, paused); err != nil {
			b.dbErrs.Add(1)
			return http.StatusServiceUnavailable, errBody("refunding: " + err.Error())
		}
		return http.StatusConflict, map[string]any{"error": "a newer checkout took the seat; refunded", "refunded": true}
	}
	b.booked.Add(1)
	return http.StatusOK, map[string]any{"seat": seat, "user": user, "fence": fence, "paused": paused}
}

func errBody(msg string) map[string]any { return map[string]any{"error": msg} }

// readSeat says whether the seat has an owner. Fenced, the read also
// raises the seat's fence to the holder's token, and fresh is false when
// a newer holder's token got there first: every later write with an
// older token is then refused.
func (w *worker) readSeat(ctx context.Context, seat, fence int64, fenced bool) (owned, fresh bool, err error) {
	var owner *int64
	if !fenced {
		err = w.db.QueryRow(ctx, `SELECT owner FROM seats WHERE seat = $1`, seat).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return false, true, nil
		}
		return owner != nil, true, err
	}
	err = w.db.QueryRow(ctx, `INSERT INTO seats (seat, fence) VALUES ($1, $2)
		ON CONFLICT (seat) DO UPDATE SET fence = EXCLUDED.fence WHERE seats.fence < EXCLUDED.fence
		RETURNING owner`, seat, fence).Scan(&owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, nil
	}
	return owner != nil, true, err
}

// writeBooking books the seat for user and confirms it in the ledger,
// in one transaction. Unfenced it is the blind write the seed warns of:
// whoever writes last owns the seat, and each writer was confirmed.
// Fenced it lands only while the seat's fence is still this holder's.
func (w *worker) writeBooking(ctx context.Context, seat, user, fence int64, fenced, paused bool) (bool, error) {
	tx, err := w.db.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	var tag interface{ RowsAffected() int64 }
	if fenced {
		tag, err = tx.Exec(ctx, `UPDATE seats SET owner = $2 WHERE seat = $1 AND fence = $3`, seat, user, fence)
	} else {
		tag, err = tx.Exec(ctx, `INSERT INTO seats (seat, owner) VALUES ($1, $2)
			ON CONFLICT (seat) DO UPDATE SET owner = EXCLUDED.owner`, seat, user)
	}
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO bookings (seat, user_id, worker, paused) VALUES ($1, $2, $3, $4)`,
		seat, user, w.book.name, paused); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
