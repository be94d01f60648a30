package compose

// The worker pool's name and the links it dials.
const (
	SvcWorker        = "worker"
	LinkWorkerBroker = "worker_broker" // worker -> broker
	LinkWorkerPG     = "worker_pg"     // worker -> haproxy write (leader)
)

// worker is our consumer-group pool (services/worker): it consumes the
// broker's events and writes to the leader.
var worker = Spec{
	Name:    SvcWorker,
	Offsets: map[string]int{"main": 90},
	Dials: []Dial{
		{LinkWorkerBroker, SvcBroker, "main"},
		{LinkWorkerPG, SvcHAProxy, "main"},
	},
	Needs:  []string{SvcBroker, SvcHAProxy},
	Image:  ImageWorker,
	Health: Health{Kind: HealthHTTP, Path: "/health"},
	Command: func(a Addressing) []string {
		return []string{"whatif-worker",
			"--listen", a.Listen(SvcWorker, "main"),
			"--broker", a.Link(LinkWorkerBroker),
			"--pg", PGURL(a.Link(LinkWorkerPG)),
			"--partitions", itoa(BrokerPartitions),
		}
	},
}
