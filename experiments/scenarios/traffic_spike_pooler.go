package scenarios

import (
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
)

// trafficSpikePooler is traffic-spike with PgBouncer as its only
// protection: the seed's "DB (with connection pooler): probably" — the
// pooler absorbs the connection storm, and nothing else.
var trafficSpikePooler = func() Experiment {
	x := trafficSpike
	x.Name = "traffic-spike-pooler"
	x.Title = "Sudden 10x traffic spike, PgBouncer alone"
	x.Shows = "traffic-spike's flash sale and 10x step with PgBouncer as the only protection: checkouts go through " +
		"PgBouncer in transaction mode, which queues them outside the database on 20 server connections, while " +
		"the API holds as many client connections to it as checkouts are in flight. Unprotected is traffic-spike's: " +
		"a Postgres connection per checkout, past max_connections. Protected: no checkout fails to get a " +
		"connection. The pooler sheds nothing and knows no priority: checkouts wait in its queue past the " +
		"clients' 2 s timeout, everyone's goodput collapses, high priority's with it — what traffic-spike's " +
		"priority gate is for."
	x.Services = []string{compose.SvcPgBouncer}
	x.Mitigation = []string{"db_pooler"}
	x.Off = []string{"queue_writes", "priority_shed", "rate_limit"}
	x.Watch = []string{"checkout.ok", "checkout.connect_failed", "checkout.too_many_clients"}
	x.Gauges = []string{"pool.bouncer.open", "checkout.in_flight"}
	x.Holds = []Check{
		AtMost("checkout connections that could not be opened (refused or timed out)", counterIncrease("checkout.connect_failed"), 0, Count),
	}
	return x
}()
