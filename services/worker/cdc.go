package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/whatif-lab/whatif/services/internal/protections"
)

// The cdc pipeline is the seed's scenario 14's connector (Debezium's part):
// it reads the payments tables' changes from a logical replication slot
// (pgoutput) and publishes each as a record of the CDC topic. It consumes
// nothing. Its health check answers while the process lives, whatever
// the stream does: the seed's connector that looks healthy and publishes
// nothing.
var cdcPipeline = pipeline{
	topic:       paymentsTopic,
	protections: []string{protDurableSlot, protStandby},
	// a slot nobody streams from is a previous run's: a run starts from
	// now, not from its backlog
	reset:  `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '` + cdcSlot + `' AND NOT active`,
	groups: func(*protections.Set) []groupPlan { return nil },
	loop:   (*worker).streamChanges,
}

const (
	// cdcSlot is the permanent slot (durable_slot on): it keeps the
	// position Postgres was told is flushed across sessions and takeovers.
	cdcSlot = "whatif_cdc"
	// cdcTempSlot is the slot without durable_slot: TEMPORARY, dropped
	// with the session that made it, so a new session starts from now.
	cdcTempSlot = "whatif_cdc_tmp"
	// cdcPublication is what the slot streams: created by the payments
	// service with its tables.
	cdcPublication = "whatif_cdc"
	// statusEvery is how often the connector tells Postgres what it has
	// flushed (Debezium's offset flush interval, scaled down).
	statusEvery = time.Second
	// streamRetry is the pause before a new session after one failed, and
	// a standby's poll for the slot it waits on.
	streamRetry = 250 * time.Millisecond
)

// connector is the stream's state for /admin/stats.
type connector struct {
	mu        sync.Mutex
	streaming bool
	slot      string
	sessions  int64 // sessions that started streaming
	failures  int64
	lastErr   string
	tracker   *flushTracker // the current or last session's
	received  pglogrepl.LSN
}

type connectorStats struct {
	Streaming bool   `json:"streaming"` // this instance holds the slot now
	Slot      string `json:"slot,omitempty"`
	Sessions  int64  `json:"sessions"`
	Failures  int64  `json:"failures"`
	LastError string `json:"last_error,omitempty"`
	Received  string `json:"received_lsn"`
	flushStats
}

func (c *connector) stats() connectorStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := connectorStats{Streaming: c.streaming, Slot: c.slot, Sessions: c.sessions, Failures: c.failures,
		LastError: c.lastErr, Received: c.received.String()}
	if c.tracker != nil {
		s.flushStats = c.tracker.stats()
	}
	return s
}

func (c *connector) started(slot string, t *flushTracker) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.streaming, c.slot, c.tracker, c.received = true, slot, t, 0
	c.sessions++
}

func (c *connector) ended(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.streaming = false
	if err != nil {
		c.failures++
		c.lastErr = err.Error()
	}
}

func (c *connector) receivedTo(lsn pglogrepl.LSN) {
	c.mu.Lock()
	c.received = max(c.received, lsn)
	c.mu.Unlock()
}

// streamChanges runs sessions until ctx ends. A standby instance
// (--standby) streams only with standby_connector on; while another
// session holds the slot, Postgres refuses it and it tries again every
// streamRetry: it takes over as soon as the holder's session is gone.
func (w *worker) streamChanges(ctx context.Context) {
	for ctx.Err() == nil {
		if !w.cfg.standby || w.prot.On(protStandby) {
			err := w.streamOnce(ctx)
			if ctx.Err() != nil {
				err = nil // stopped, not failed
			}
			w.conn.ended(err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(streamRetry):
		}
	}
}

// streamOnce is one replication session: it opens the slot, produces every
// change and reports a flushed position to Postgres every statusEvery. With
// durable_slot that position is where the broker has acknowledged every
// event before it; without, it is what was received (Postgres forgets the
// rest at once).
func (w *worker) streamOnce(ctx context.Context) error {
	durable := w.prot.On(protDurableSlot)
	conn, err := pgconn.Connect(ctx, replicationDSN(w.cfg.pg))
	if err != nil {
		return fmt.Errorf("replication connection: %w", err)
	}
	defer conn.Close(context.Background())
	slot, err := openSlot(ctx, conn, durable)
	if err != nil {
		return err
	}
	err = pglogrepl.StartReplication(ctx, conn, slot, 0, pglogrepl.StartReplicationOptions{
		Mode:       pglogrepl.LogicalReplication,
		PluginArgs: []string{"proto_version '1'", "publication_names '" + cdcPublication + "'"},
	})
	if err != nil {
		return fmt.Errorf("starting replication from %s: %w", slot, err)
	}
	// records wait in the client while the broker is unreachable: a
	// wedged connector keeps reading (and, without durable_slot, keeps
	// telling Postgres it flushed) instead of blocking
	prod, err := kgo.NewClient(kgo.SeedBrokers(w.cfg.broker), kgo.DefaultProduceTopic(w.cfg.topic), kgo.MaxBufferedRecords(1<<20),
		kgo.Dialer(w.dialBroker))
	if err != nil {
		return err
	}
	// a session's end abandons what the broker has not acknowledged (a
	// wedged link never will): the slot replays it, or, without
	// durable_slot, nobody does
	defer prod.Close()
	tr := &flushTracker{}
	w.conn.started(slot, tr)
	var prodErr error
	var prodMu sync.Mutex
	dec := newChangeDecoder(tr, func(rec *kgo.Record, t *txn) {
		prod.Produce(ctx, rec, func(_ *kgo.Record, err error) {
			if err != nil {
				prodMu.Lock()
				prodErr = err
				prodMu.Unlock()
				return
			}
			tr.ack(t)
		})
	})
	var received pglogrepl.LSN
	next := time.Now()
	for {
		prodMu.Lock()
		perr := prodErr
		prodMu.Unlock()
		if perr != nil {
			return fmt.Errorf("producing: %w", perr)
		}
		if !time.Now().Before(next) {
			flush := received
			if durable {
				// 0 would read as "the write position"
				flush = max(tr.confirmable(), 1)
			}
			if err := pglogrepl.SendStandbyStatusUpdate(ctx, conn, pglogrepl.StandbyStatusUpdate{
				WALWritePosition: max(received, 1), WALFlushPosition: flush, WALApplyPosition: flush,
			}); err != nil {
				return fmt.Errorf("status update: %w", err)
			}
			tr.reported(flush)
			next = time.Now().Add(statusEvery)
		}
		rctx, cancel := context.WithDeadline(ctx, next)
		msg, err := conn.ReceiveMessage(rctx)
		cancel()
		if err != nil {
			if pgconn.Timeout(err) && ctx.Err() == nil {
				continue
			}
			return fmt.Errorf("receiving: %w", err)
		}
		switch m := msg.(type) {
		case *pgproto3.ErrorResponse:
			return pgconn.ErrorResponseToPgError(m)
		case *pgproto3.CopyData:
			if len(m.Data) == 0 {
				continue
			}
			switch m.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(m.Data[1:])
				if err != nil {
					return err
				}
				if ka.ReplyRequested {
					next = time.Now()
				}
			case pglogrepl.XLogDataByteID:
				x, err := pglogrepl.ParseXLogData(m.Data[1:])
				if err != nil {
					return err
				}
				if err := dec.handle(x.WALData); err != nil {
					return err
				}
				received = max(received, x.WALStart+pglogrepl.LSN(len(x.WALData)))
				w.conn.receivedTo(received)
			}
		}
	}
}

// dialBroker dials --broker for every connection, whatever address the
// metadata names: the stack's broker is one node that advertises one proxy
// for all its clients, and the connector's own link must carry all its
// traffic for a fault on that link to be its alone.
func (w *worker) dialBroker(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, w.cfg.broker)
}

// openSlot returns the slot this session streams from: the permanent one,
// created when missing, or a new temporary one.
func openSlot(ctx context.Context, conn *pgconn.PgConn, durable bool) (string, error) {
	slot := cdcTempSlot
	if durable {
		slot = cdcSlot
	}
	_, err := pglogrepl.CreateReplicationSlot(ctx, conn, slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{
		Temporary: !durable, Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
	var pgErr *pgconn.PgError
	if durable && errors.As(err, &pgErr) && pgErr.Code == "42710" { // duplicate_object: the slot is there
		err = nil
	}
	if err != nil {
		return "", fmt.Errorf("slot %s: %w", slot, err)
	}
	return slot, nil
}

// replicationDSN is dsn opening a logical replication connection.
func replicationDSN(dsn string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		return dsn + sep + "replication=database"
	}
	return dsn + " replication=database"
}
