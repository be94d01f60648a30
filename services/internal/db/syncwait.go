package db

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrNotReplicated: the commit is durable on the primary only. Postgres
// answers a commit whose wait for the synchronous standby was cancelled
// (statement_timeout, a cancel request) with a WARNING and success, so
// acknowledging it would promise what a failover can take back. A caller
// treats it as a failure and retries with its idempotency key.
var ErrNotReplicated = errors.New("committed on the primary, but the synchronous standby did not confirm it in time")

const syncWaitCancelledKey = "whatif.sync_wait_cancelled"

// isSyncWaitCancel matches the WARNING of syncrep.c's cancelled wait
// ("canceling wait for synchronous replication due to user request"; the
// termination variant too). Our servers run with lc_messages C.
func isSyncWaitCancel(n *pgconn.Notice) bool {
	sev := n.SeverityUnlocalized
	if sev == "" {
		sev = n.Severity
	}
	return sev == "WARNING" && strings.Contains(n.Message, "wait for synchronous replication")
}

// noteNotice is every pool connection's OnNotice: it marks the connection
// whose last commit was not confirmed by the standby.
func noteNotice(c *pgconn.PgConn, n *pgconn.Notice) {
	if isSyncWaitCancel(n) {
		c.CustomData()[syncWaitCancelledKey] = true
	}
}

// takeSyncWaitCancel reports and clears the mark.
func takeSyncWaitCancel(c *pgx.Conn) bool {
	data := c.PgConn().CustomData()
	_, ok := data[syncWaitCancelledKey]
	delete(data, syncWaitCancelledKey)
	return ok
}
