package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"github.com/whatif-lab/whatif/internal/clock"
	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// With queue_writes the flash sale's write path enqueues (the seed's "queue
// as buffer: app servers just enqueue — processing happens at a controlled
// rate"): POST /checkout produces the checkout to the broker and answers
// 202 once the broker has acknowledged it; the API's checkout workers
// (--checkout-workers, one consumer of the group each) apply them in order
// at the database's pace. A spike becomes a backlog, not a storm of
// connections. A checkout is applied once per Idempotency-Key
// (checkout_log's primary key), so a redelivery changes nothing.

const (
	checkoutTopic = "checkouts"
	checkoutGroup = "checkout-workers"
)

type queuedCheckout struct {
	Key      string `json:"key"`
	ItemID   int    `json:"item_id"`
	Priority string `json:"priority"`
}

// checkoutQueue is the producer and the workers' readers.
type checkoutQueue struct {
	w       *kafka.Writer
	readers []*kafka.Reader
}

func newCheckoutQueue(broker string, workers int) *checkoutQueue {
	q := &checkoutQueue{w: &kafka.Writer{
		Addr:  kafka.TCP(broker),
		Topic: checkoutTopic,
		// Spread over the partitions by checkout, so every worker has work:
		// two hot items keyed by item would leave one worker (or two) with
		// everything. Order between checkouts does not matter to a stock
		// decrement; the row lock still serialises one item's checkouts.
		Balancer: &kafka.Hash{},
		// acknowledged = in the broker: kafka-go's default acks nothing
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           time.Millisecond, // a request waits for its own write, not a batch
		MaxAttempts:            3,
		WriteTimeout:           2 * time.Second,
		AllowAutoTopicCreation: true,
	}}
	for range workers {
		q.readers = append(q.readers, kafka.NewReader(kafka.ReaderConfig{
			Brokers:     []string{broker},
			GroupID:     checkoutGroup,
			Topic:       checkoutTopic,
			StartOffset: kafka.FirstOffset,
			MaxWait:     500 * time.Millisecond, // idle workers poll the broker twice a second each
			// kafka-go's defaults (30 s sessions, 5 s backoff) would leave
			// partitions unassigned for seconds after a restart
			HeartbeatInterval: 500 * time.Millisecond,
			SessionTimeout:    6 * time.Second,
			RebalanceTimeout:  6 * time.Second,
			JoinGroupBackoff:  200 * time.Millisecond,
			ReadBackoffMin:    10 * time.Millisecond,
			ReadBackoffMax:    100 * time.Millisecond,
		}))
	}
	return q
}

func (q *checkoutQueue) close() {
	q.w.Close()
	for _, r := range q.readers {
		r.Close()
	}
}

// enqueueCheckout answers a checkout that queue_writes sends to the broker.
func (a *app) enqueueCheckout(w http.ResponseWriter, r *http.Request, item int, prio string) {
	key := r.Header.Get("Idempotency-Key")
	if err := validKey(key); err != nil {
		httpx.Error(w, http.StatusBadRequest, "queued checkouts need an Idempotency-Key: "+err.Error())
		return
	}
	if a.queue == nil {
		a.unavailable(w, "no broker configured (--broker): checkouts cannot be queued")
		return
	}
	b, err := json.Marshal(queuedCheckout{Key: key, ItemID: item, Priority: prio})
	if err != nil {
		httpx.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	msg := kafka.Message{Key: []byte(key), Value: b}
	if err := a.queue.w.WriteMessages(r.Context(), msg); err != nil {
		a.count.checkoutQueueErrors.Add(1)
		a.unavailable(w, "broker: "+err.Error())
		return
	}
	a.count.checkoutQueued.Add(1)
	httpx.JSON(w, http.StatusAccepted, map[string]any{"item_id": item, "priority": prio, "queued": true, "key": key})
}

// runCheckoutWorkers applies queued checkouts until ctx ends; one
// goroutine per reader, each committing after it applied.
func (a *app) runCheckoutWorkers(ctx context.Context) {
	if a.queue == nil {
		return
	}
	for _, rd := range a.queue.readers {
		go a.checkoutWorker(ctx, rd)
	}
}

func (a *app) checkoutWorker(ctx context.Context, rd *kafka.Reader) {
	for ctx.Err() == nil {
		m, err := rd.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.count.checkoutWorkerErrors.Add(1)
				a.workerLog.logf("checkout worker: fetch: %v", err)
				clock.Sleep(ctx, 200*time.Millisecond)
			}
			continue
		}
		// A failed apply is retried in place: committing past it would
		// lose an acknowledged checkout.
		for ctx.Err() == nil {
			err := a.applyQueued(ctx, m.Value)
			if err == nil {
				break
			}
			a.count.checkoutWorkerErrors.Add(1)
			a.workerLog.logf("checkout worker: apply: %v", err)
			clock.Sleep(ctx, 200*time.Millisecond)
		}
		if err := rd.CommitMessages(ctx, m); err != nil && ctx.Err() == nil {
			a.count.checkoutWorkerErrors.Add(1)
			a.workerLog.logf("checkout worker: commit: %v", err)
		}
	}
}

// applyQueuedQuery is one queued checkout in one statement, so one
// implicit transaction: the log row (once per key: a redelivery inserts
// nothing, so nothing below runs), the stock decrement, and the hold under
// its row lock. Unlike the synchronous path's round trips, none falls
// inside the lock: the row is held for the hold and the commit only, which
// is what lets the workers keep the items near their capacity.
const applyQueuedQuery = `WITH logged AS (
		INSERT INTO checkout_log (key, item_id, priority) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING item_id
	), taken AS (
		UPDATE stock SET left_count = left_count - 1 WHERE item = (SELECT item_id FROM logged) RETURNING item
	)
	SELECT pg_sleep($4::float8) FROM taken`

// applyQueued runs one queued checkout: the same row lock and hold as the
// synchronous path, once per key.
func (a *app) applyQueued(ctx context.Context, value []byte) error {
	var q queuedCheckout
	if err := json.Unmarshal(value, &q); err != nil || q.Key == "" || q.ItemID < 1 || q.ItemID > stockItems {
		a.count.checkoutPoison.Add(1)
		return nil // skipped and counted: retrying cannot fix it
	}
	pool := a.checkoutPool()
	hold := a.settings.get(knob.CheckoutHold)
	applied := false
	err := pool.Do(ctx, db.Limits{}, func(ctx context.Context, c *pgx.Conn) error {
		tag, err := c.Exec(ctx, applyQueuedQuery, q.Key, q.ItemID, q.Priority, hold.Seconds())
		applied = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return err
	}
	if applied {
		a.count.checkoutApplied.Add(1)
	} else {
		a.count.checkoutRedelivered.Add(1)
	}
	return nil
}
