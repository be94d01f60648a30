// Package scenarios holds the seed's scenarios as experiments: one file
// each, and registry.go lists them. They are written in the runner's
// vocabulary (package experiments, dot-imported: a scenario reads as a
// spec); what two of them share lives in shared.go, ops.go and spike.go.
package scenarios

import (
	"fmt"
	"sort"
	"strings"

	. "github.com/whatif-lab/whatif/experiments"
)

// registry holds every experiment; adding a scenario is one file plus one line here.
var registry = []Experiment{
	redisCrash,
	dbFailover(false),
	dbFailover(true),
	retryStorm,
	cacheStampede,
	cacheStampedeCoalescing,
	slowQuery,
	trafficSpike,
	trafficSpikeQueue,
	trafficSpikePooler,
	appOOM,
	hotKey,
	hotKeyReplicas,
	kafkaConsumerLag,
	encodingBacklog,
	uploadBacklog,
	cdcDown,
	cdcDownWedged,
	lockExpiry,
	lockExpiryQuorum,
}

// All returns the registered experiments in registry order.
func All() []Experiment { return append([]Experiment(nil), registry...) }

// Lookup finds an experiment by name, with the known names in the error.
func Lookup(name string) (Experiment, error) {
	var names []string
	for _, x := range registry {
		if x.Name == name {
			return x, nil
		}
		names = append(names, x.Name)
	}
	sort.Strings(names)
	return Experiment{}, fmt.Errorf("unknown experiment %q; known: %s", name, strings.Join(names, ", "))
}
