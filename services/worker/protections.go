package main

import "github.com/whatif-lab/whatif/services/internal/protections"

// The worker's protections, named after the seed's preventions.
const (
	protSplitGroups = "split_groups" // slow work (analytics) in its own consumer group, apart from the fast (notifications)
	protAutoscale   = "autoscale"    // members follow each group's lag, up to the partition count
)

var protectionNames = []string{protSplitGroups, protAutoscale}

func newProtections() *protections.Set {
	s, err := protections.New(protectionNames...)
	if err != nil {
		panic(err) // the names above are constants
	}
	return s
}

// parseProtections checks a --protections value.
func parseProtections(spec string) (map[string]bool, error) {
	return newProtections().Parse(spec)
}
