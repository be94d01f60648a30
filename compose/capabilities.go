package compose

import (
	"fmt"
	"slices"
	"strings"
)

// Capability is something a stack may offer beyond its Controller: some
// backends, or some runners (a normal user's, say), lack it.
type Capability string

const (
	// MemoryLimits: a service runs under a memory limit and the kernel's
	// OOM killer ends it past the limit (app-oom).
	MemoryLimits Capability = "memory-limits"
	// RestartCounts: the Controller is a RestartCounter.
	RestartCounts Capability = "restart-counts"
	// CPUWeights: the Controller is a CPUWeighter (slow-query).
	CPUWeights Capability = "cpu-weights"
)

// Capabilities is what a backend offers a runner, known before its stack
// starts, so an experiment that needs more fails at once.
type Capabilities struct {
	// Missing says, per capability the backend lacks, why.
	Missing map[Capability]string
}

// Check returns one line naming every needed capability that is missing,
// and why; nil when all are there.
func (c Capabilities) Check(need []Capability) error {
	var lines []string
	for _, n := range need {
		if why, missing := c.Missing[n]; missing {
			lines = append(lines, fmt.Sprintf("%s (%s)", n, why))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	slices.Sort(lines)
	return fmt.Errorf("this stack cannot offer %s", strings.Join(lines, "; "))
}
