package experiments

import (
	"fmt"
	"strconv"

	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/loadgen"
)

// EventAudit accounts for every event the broker acknowledged against what
// one consumer group finished: each is consumed exactly once, or lost, or
// duplicated. A consumer cannot count its own loss (kgo only logs when
// retention deleted records under it), so loss is found here.
type EventAudit struct {
	Acked      int // events the broker acknowledged to the producer
	Lost       int // acknowledged, never finished by the group
	Duplicated int // acknowledged, finished more than once
	// Unacked are events the group finished although the producer saw no
	// acknowledgement (sent, then the request timed out): neither lost nor
	// duplicated.
	Unacked int
}

// AuditEvents compares the acknowledged produce results (their Key is the
// event id) with a group's consumed ids.
func AuditEvents(acked []loadgen.Result, c operator.Consumed) (EventAudit, error) {
	a := EventAudit{Acked: len(acked)}
	seen := make(map[int64]bool, len(acked))
	for _, r := range acked {
		id, err := strconv.ParseInt(r.Key, 10, 64)
		if err != nil {
			return a, fmt.Errorf("acknowledged %s request %d has no event id (key %q)", r.Op, r.Seq, r.Key)
		}
		if seen[id] {
			return a, fmt.Errorf("event %d acknowledged twice: the producer reused an id", id)
		}
		seen[id] = true
		switch {
		case !c.Has(id):
			a.Lost++
		case c.Repeated[id] > 1:
			a.Duplicated++
		}
	}
	if found := c.Distinct - (a.Acked - a.Lost); found > 0 {
		a.Unacked = found
	}
	return a, nil
}
