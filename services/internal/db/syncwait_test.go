package db

import (
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

func TestIsSyncWaitCancel(t *testing.T) {
	cases := []struct {
		name string
		n    pgconn.Notice
		want bool
	}{
		{"cancelled wait", pgconn.Notice{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: "01000",
			Message: "canceling wait for synchronous replication due to user request"}, true},
		{"terminated wait", pgconn.Notice{Severity: "WARNING",
			Message: "canceling the wait for synchronous replication and terminating connection due to administrator command"}, true},
		{"localized severity", pgconn.Notice{Severity: "WARNUNG", SeverityUnlocalized: "WARNING",
			Message: "canceling wait for synchronous replication due to user request"}, true},
		{"other warning", pgconn.Notice{Severity: "WARNING", Message: "there is no transaction in progress"}, false},
		{"notice, not a warning", pgconn.Notice{Severity: "NOTICE", Message: "wait for synchronous replication"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := isSyncWaitCancel(&c.n); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
