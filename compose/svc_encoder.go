package compose

// The encoding pool's name and the links it dials.
const (
	SvcEncoder        = "encoder"
	LinkEncoderBroker = "encoder_broker" // encoder -> broker
	LinkEncoderPG     = "encoder_pg"     // encoder -> haproxy write (leader)
	// EncoderPartitions is the uploads topic's partitions: each group's
	// members, and so the most encoders autoscale can use.
	EncoderPartitions = 16
)

// encoder is the worker binary running the encode pipeline (seed 13): an
// upload service (PUT/GET /videos/{id}) in front of a queue of uploads and
// a pool of encoders, writing videos and renditions to the leader.
var encoder = Spec{
	Name:    SvcEncoder,
	Offsets: map[string]int{"main": 91},
	Dials: []Dial{
		{LinkEncoderBroker, SvcBroker, "main"},
		{LinkEncoderPG, SvcHAProxy, "main"},
	},
	Needs:  []string{SvcBroker, SvcHAProxy},
	Image:  ImageWorker,
	Health: Health{Kind: HealthHTTP, Path: "/health"},
	Command: func(a Addressing) []string {
		return []string{"whatif-worker",
			"--listen", a.Listen(SvcEncoder, "main"),
			"--broker", a.Link(LinkEncoderBroker),
			"--pg", PGURL(a.Link(LinkEncoderPG)),
			"--pipeline", "encode",
			"--partitions", itoa(EncoderPartitions),
			"--members", itoa(EncoderPartitions),
			"--encoders", "2",
		}
	},
}
