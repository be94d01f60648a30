package compose

// The payments application, its CDC connectors and the links they dial.
const (
	SvcPayments        = "payments" // the application (POST /payments) and the downstream audit
	SvcCDC             = "cdc"      // the CDC connector
	SvcCDCB            = "cdc-b"    // the standby connector
	LinkPaymentsBroker = "payments_broker"
	LinkPaymentsPG     = "payments_pg"
	LinkCDCBroker      = "cdc_broker"
	LinkCDCPG          = "cdc_pg"
	LinkCDCBBroker     = "cdc_b_broker"
	LinkCDCBPG         = "cdc_b_pg"
	// PaymentsPartitions is the CDC topic's partitions, and the members of
	// each of the payments service's groups (audit, confirm).
	PaymentsPartitions = 4
)

// payments writes payments and a heartbeat row to the leader and reads
// the CDC topic; cdc and cdcB are the worker binary's connector, reading
// the leader's logical replication slot (through HAProxy, so it follows
// the leader) and publishing to the broker, each on its own links so that
// one can be cut off alone. cdcB runs as the standby.
var (
	payments = Spec{
		Name:    SvcPayments,
		Offsets: map[string]int{"main": 94},
		Dials: []Dial{
			{LinkPaymentsBroker, SvcBroker, "main"},
			{LinkPaymentsPG, SvcHAProxy, "main"},
		},
		Needs:  []string{SvcBroker, SvcHAProxy},
		Image:  ImageWorker,
		Health: Health{Kind: HealthHTTP, Path: "/health"},
		Command: func(a Addressing) []string {
			return []string{"whatif-worker",
				"--listen", a.Listen(SvcPayments, "main"),
				"--broker", a.Link(LinkPaymentsBroker),
				"--pg", PGURL(a.Link(LinkPaymentsPG)),
				"--pipeline", "payments",
				"--partitions", itoa(PaymentsPartitions),
				"--members", itoa(PaymentsPartitions),
			}
		},
	}
	cdc  = cdcSpec(SvcCDC, 95, LinkCDCBroker, LinkCDCPG, false)
	cdcB = cdcSpec(SvcCDCB, 96, LinkCDCBBroker, LinkCDCBPG, true)
)

func cdcSpec(name string, offset int, broker, pg string, standby bool) Spec {
	return Spec{
		Name:    name,
		Offsets: map[string]int{"main": offset},
		Dials: []Dial{
			{broker, SvcBroker, "main"},
			{pg, SvcHAProxy, "main"},
		},
		// the payments service creates the publication the slot streams
		Needs:  []string{SvcBroker, SvcHAProxy, SvcPayments},
		Image:  ImageWorker,
		Health: Health{Kind: HealthHTTP, Path: "/health"},
		Command: func(a Addressing) []string {
			cmd := []string{"whatif-worker",
				"--listen", a.Listen(name, "main"),
				"--broker", a.Link(broker),
				"--pg", PGURL(a.Link(pg)),
				"--pipeline", "cdc",
				"--partitions", itoa(PaymentsPartitions),
			}
			if standby {
				cmd = append(cmd, "--standby")
			}
			return cmd
		},
	}
}
