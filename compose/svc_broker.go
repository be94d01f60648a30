package compose

const SvcBroker = "broker"

// broker is our Kafka-protocol broker (kfake with a data dir).
var broker = Spec{
	Name:    SvcBroker,
	Offsets: map[string]int{"main": 60},
	Image:   ImageBroker,
	State:   true,
	Health:  Health{Kind: HealthKafka},
	Command: func(a Addressing) []string {
		return []string{"whatif-broker",
			"--listen", a.Listen(SvcBroker, "main"),
			// clients learn the proxy's address from the metadata
			"--advertise", a.Link(LinkBroker),
			"--data-dir", a.Dir(SvcBroker),
			"--partitions", itoa(BrokerPartitions),
		}
	},
}
