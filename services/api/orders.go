package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatif-lab/whatif/services/internal/httpx"
)

const (
	maxQty    = 1000
	maxKeyLen = 200
	recentDef = 10
	recentMax = 100
)

type orderRequest struct {
	ItemID *int64 `json:"item_id"`
	Qty    *int   `json:"qty"`
}

// order is a validated POST /orders.
type order struct {
	itemID int64
	qty    int
	key    string // Idempotency-Key header, may be empty when idempotency is off
}

// validateOrder checks the body and the Idempotency-Key header.
func validateOrder(req orderRequest, key string, keyRequired bool) (order, error) {
	switch {
	case req.ItemID == nil:
		return order{}, errors.New("item_id is required")
	case *req.ItemID < 1:
		return order{}, fmt.Errorf("item_id %d: must be a positive integer", *req.ItemID)
	case req.Qty == nil:
		return order{}, errors.New("qty is required")
	case *req.Qty < 1 || *req.Qty > maxQty:
		return order{}, fmt.Errorf("qty %d: must be in 1..%d", *req.Qty, maxQty)
	case key == "" && keyRequired:
		return order{}, errors.New("Idempotency-Key header is required (idempotency protection is on)")
	}
	if key != "" {
		if err := validKey(key); err != nil {
			return order{}, err
		}
	}
	return order{itemID: *req.ItemID, qty: *req.Qty, key: key}, nil
}

// validKey checks an Idempotency-Key: present, printable ASCII without
// spaces, at most maxKeyLen bytes.
func validKey(key string) error {
	if key == "" {
		return errors.New("Idempotency-Key header is missing")
	}
	if len(key) > maxKeyLen {
		return fmt.Errorf("Idempotency-Key longer than %d bytes", maxKeyLen)
	}
	for _, c := range key {
		if c < 0x21 || c > 0x7e {
			return errors.New("Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return nil
}

// errKeyReuse: an Idempotency-Key replayed with a different body.
var errKeyReuse = errors.New("Idempotency-Key was already used for a different order")

// decodeOrder reads a POST /orders: its body and Idempotency-Key. Every
// error is the client's (400); it is apart from the handler so that it can
// be fuzzed without a database.
func decodeOrder(w http.ResponseWriter, r *http.Request, keyRequired bool) (order, error) {
	var req orderRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return order{}, fmt.Errorf(`%w; want {"item_id":int,"qty":int}`, err)
	}
	return validateOrder(req, r.Header.Get("Idempotency-Key"), keyRequired)
}

func (a *app) postOrder(w http.ResponseWriter, r *http.Request) {
	idem := a.prot.On(protIdempotency)
	o, err := decodeOrder(w, r, idem)
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	var id int64
	var replayed bool
	err = a.writePool().Do(r.Context(), a.limits(), func(ctx context.Context, c *pgx.Conn) error {
		var err error
		if idem {
			id, replayed, err = insertIdempotent(ctx, c, o)
		} else {
			id, err = insertPlain(ctx, c, o)
		}
		return err
	})
	switch {
	case errors.Is(err, errKeyReuse):
		httpx.Error(w, http.StatusUnprocessableEntity, err.Error())
	case err != nil:
		a.count.ordersFailed.Add(1)
		a.dbFailure(w, r, err)
	case replayed:
		a.count.ordersReplayed.Add(1)
		httpx.JSON(w, http.StatusOK, map[string]any{"order_id": id, "key": o.key, "replayed": true})
	default:
		a.count.ordersCreated.Add(1)
		httpx.JSON(w, http.StatusCreated, map[string]any{"order_id": id, "key": o.key})
	}
}

// insertIdempotent inserts once per key; a repeat returns the first order.
// ON CONFLICT waits for a concurrent insert of the same key to commit, so
// the statement that follows sees it. That one is a no-op UPDATE, not a
// SELECT: its commit waits for the synchronous standby like the insert's,
// and WAL is replayed in order, so a replay is acknowledged only once the
// first insert is on the standby too (the first may have been refused with
// db.ErrNotReplicated).
func insertIdempotent(ctx context.Context, c *pgx.Conn, o order) (id int64, replayed bool, err error) {
	err = c.QueryRow(ctx, `INSERT INTO orders (idem_key, client_key, item_id, qty) VALUES ($1, $1, $2, $3)
		ON CONFLICT (idem_key) DO NOTHING RETURNING id`, o.key, o.itemID, o.qty).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, false, err
	}
	var itemID int64
	var qty int
	if err := c.QueryRow(ctx, `UPDATE orders SET idem_key = idem_key WHERE idem_key = $1 RETURNING id, item_id, qty`, o.key).
		Scan(&id, &itemID, &qty); err != nil {
		return 0, false, fmt.Errorf("read replayed order: %w", err)
	}
	if itemID != o.itemID || qty != o.qty {
		return 0, false, errKeyReuse
	}
	return id, true, nil
}

// insertPlain always inserts; the key goes to client_key only, so
// duplicates land and can be counted by an audit.
func insertPlain(ctx context.Context, c *pgx.Conn, o order) (id int64, err error) {
	err = c.QueryRow(ctx, `INSERT INTO orders (client_key, item_id, qty) VALUES (NULLIF($1, ''), $2, $3) RETURNING id`,
		o.key, o.itemID, o.qty).Scan(&id)
	return id, err
}

// dbFailure answers a failed order call: 503 + Retry-After when retry_after
// is on (the seed's option 3), else 500.
func (a *app) dbFailure(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // client gone
	}
	if a.prot.On(protRetryAfter) {
		a.unavailable(w, "database unavailable, retry later: "+err.Error())
		return
	}
	httpx.Error(w, http.StatusInternalServerError, "database: "+err.Error())
}

type orderJSON struct {
	OrderID   int64     `json:"order_id"`
	Key       *string   `json:"key"`
	ItemID    int64     `json:"item_id"`
	Qty       int       `json:"qty"`
	CreatedAt time.Time `json:"created_at"`
}

// parseRecentN reads ?n=, default 10 when absent.
func parseRecentN(s string, present bool) (int, error) {
	if !present {
		return recentDef, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > recentMax {
		return 0, fmt.Errorf("n %q: want an integer in 1..%d", s, recentMax)
	}
	return n, nil
}

func (a *app) recentOrders(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	n, err := parseRecentN(q.Get("n"), q.Has("n"))
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	pool := a.readPool()
	out := make([]orderJSON, 0, n)
	err = pool.Do(r.Context(), a.limits(), func(ctx context.Context, c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT id, client_key, item_id, qty, created_at FROM orders ORDER BY id DESC LIMIT $1`, n)
		if err != nil {
			return err
		}
		defer rows.Close()
		out = out[:0]
		for rows.Next() {
			var o orderJSON
			if err := rows.Scan(&o.OrderID, &o.Key, &o.ItemID, &o.Qty, &o.CreatedAt); err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	if err != nil {
		a.dbFailure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"orders": out, "pool": pool.Name()})
}
