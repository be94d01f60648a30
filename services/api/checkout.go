package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// POST /checkout is the traffic-spike scenario's flash sale: one
// transaction decrements the item's stock row and holds the row lock for
// checkout_hold, so checkouts of one item run one at a time inside
// Postgres and its capacity is 1 / checkout_hold per item. A spike past
// that queues inside the database, each waiting checkout holding a
// connection of its own — unless a pooler and admission control stop it.
const (
	stockItems    = 10 // rows of the stock table
	maxClientID   = 100
	tooManyConns  = "53300" // SQLSTATE too_many_connections: "sorry, too many clients already"
	checkoutQuery = `UPDATE stock SET left_count = left_count - 1 WHERE item = $1`
)

type checkoutRequest struct {
	ItemID *int `json:"item_id"`
}

// priorityOf reads X-Priority: "high", or "low" (also when absent).
func priorityOf(h string) (string, error) {
	switch h {
	case "", "low":
		return "low", nil
	case "high":
		return "high", nil
	}
	return "", fmt.Errorf("X-Priority %q: want high or low", h)
}

// clientOf reads X-Client-ID; requests without one share one bucket.
func clientOf(h string) (string, error) {
	if len(h) > maxClientID {
		return "", fmt.Errorf("X-Client-ID longer than %d bytes", maxClientID)
	}
	for _, c := range h {
		if c < 0x21 || c > 0x7e {
			return "", errors.New("X-Client-ID must be printable ASCII without spaces")
		}
	}
	if h == "" {
		return "anonymous", nil
	}
	return h, nil
}

// checkoutInput is a validated POST /checkout.
type checkoutInput struct {
	item         int
	prio, client string
}

// decodeCheckout reads a POST /checkout: X-Priority, X-Client-ID and the
// body. Every error is the client's (400); it is apart from the handler so
// that it can be fuzzed without a database.
func decodeCheckout(w http.ResponseWriter, r *http.Request) (checkoutInput, error) {
	prio, err := priorityOf(r.Header.Get("X-Priority"))
	if err != nil {
		return checkoutInput{}, err
	}
	client, err := clientOf(r.Header.Get("X-Client-ID"))
	if err != nil {
		return checkoutInput{}, err
	}
	var req checkoutRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return checkoutInput{}, fmt.Errorf(`%w; want {"item_id":N}`, err)
	}
	if req.ItemID == nil || *req.ItemID < 1 || *req.ItemID > stockItems {
		return checkoutInput{}, fmt.Errorf("item_id is required, an integer in 1..%d", stockItems)
	}
	return checkoutInput{item: *req.ItemID, prio: prio, client: client}, nil
}

func (a *app) checkout(w http.ResponseWriter, r *http.Request) {
	in, err := decodeCheckout(w, r)
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	a.count.checkouts.Add(1)
	if a.prot.On(protRateLimit) && !a.limiter.Allow(in.client) {
		a.count.checkoutLimited.Add(1)
		w.Header().Set("Retry-After", "1")
		httpx.Error(w, http.StatusTooManyRequests, "rate limit for client "+in.client)
		return
	}
	if a.prot.On(protQueueWrites) {
		a.enqueueCheckout(w, r, in.item, in.prio)
		return
	}
	if a.prot.On(protPriorityShed) {
		wait := a.shedWaitLow
		if in.prio == "high" {
			wait = a.shedWaitHigh
		}
		if !a.checkoutGate.acquire(r.Context(), in.prio == "high", wait) {
			a.count.checkoutShed.Add(1)
			a.unavailable(w, "overloaded: "+in.prio+"-priority request shed")
			return
		}
		defer a.checkoutGate.release()
	}
	pool := a.checkoutPool()
	hold := a.settings.get(knob.CheckoutHold)
	err = pool.Do(r.Context(), db.Limits{}, func(ctx context.Context, c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, checkoutQuery, in.item); err != nil {
				return err
			}
			// the work done while holding the row: payment, inventory
			_, err := tx.Exec(ctx, `SELECT pg_sleep($1::float8)`, hold.Seconds())
			return err
		})
	})
	if err != nil {
		if errors.Is(err, db.ErrConnect) {
			a.count.checkoutConnFailed.Add(1)
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == tooManyConns {
				a.count.checkoutRefused.Add(1)
			}
		}
		a.dbFailure(w, r, err)
		return
	}
	a.count.checkoutOK.Add(1)
	httpx.JSON(w, http.StatusOK, map[string]any{"item_id": in.item, "priority": in.prio, "pool": pool.Name()})
}

// checkoutPool: with db_pooler, PgBouncer (transaction mode) multiplexes
// the API's connections onto a few server connections and queues the rest;
// without, every concurrent checkout opens a Postgres connection of its own.
func (a *app) checkoutPool() *db.Pool {
	if a.bouncer != nil && a.prot.On(protDBPooler) {
		return a.bouncer
	}
	return a.unpooled
}
