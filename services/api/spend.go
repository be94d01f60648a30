package main

import (
	"context"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatif-lab/whatif/services/internal/breaker"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// spendQuery is the slow-query scenario's report: one customer's order
// count and total. With customer_orders_customer it is an index lookup;
// without it, a sequential scan of the whole table.
const spendQuery = `SELECT count(*), coalesce(sum(amount), 0) FROM customer_orders WHERE customer = $1`

// customerSpend serves GET /customers/{id}/spend.
func (a *app) customerSpend(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	a.count.spendRequests.Add(1)
	useBreaker := a.prot.On(protDBBreaker)
	var ticket breaker.Ticket
	if useBreaker {
		var ok bool
		if ticket, ok = a.reportBreaker.Allow(); !ok {
			a.dbFailure(w, r, errBreakerOpen)
			return
		}
	}
	pool := a.reportPool()
	var n, total int64
	start := time.Now()
	err = pool.Do(r.Context(), a.limits(), func(ctx context.Context, c *pgx.Conn) error {
		return c.QueryRow(ctx, spendQuery, id).Scan(&n, &total)
	})
	if useBreaker {
		a.reportBreaker.Done(ticket, outcome(r.Context(), err), time.Since(start))
	}
	if err != nil {
		a.dbFailure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"customer": id, "orders": n, "total": total, "pool": pool.Name()})
}

// reportPool is where report queries run: with heavy_isolation, a small
// pool of their own on the replica (a bulkhead: a slow report can only
// exhaust its own connections); without it, the pool writes use.
func (a *app) reportPool() *db.Pool {
	if a.reports != nil && a.prot.On(protHeavyIsolation) {
		return a.reports
	}
	return a.writePool()
}
