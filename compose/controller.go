package compose

import (
	"context"
	"fmt"
)

// Controller is how the chaos plane acts on processes of a running stack.
// Both backends give every call the same meaning.
type Controller interface {
	// Kill sends SIGKILL to every process of the service (whole trees,
	// including processes re-parented away from the one we started).
	Kill(ctx context.Context, svc string) error
	// Pause sends SIGSTOP to every process of the service.
	Pause(ctx context.Context, svc string) error
	// Resume sends SIGCONT to every process of the service.
	Resume(ctx context.Context, svc string) error
	// Launch starts a killed service again (or resumes a paused one) and
	// returns at once: a fault never waits, the runner awaits health.
	Launch(ctx context.Context, svc string) error
	// AwaitHealthy returns once the service passes its health check.
	AwaitHealthy(ctx context.Context, svc string) error
	// Start is Launch, then AwaitHealthy; on a running service it only
	// waits for its health.
	Start(ctx context.Context, svc string) error
}

// Restarts counts what a service's restart policy did.
type Restarts struct {
	Restarts int // relaunches after the service died on its own
	OOMKills int // kills by the kernel's OOM killer; -1 = unknown
}

// RestartCounter is implemented by the controllers of backends that
// restart services which die on their own (the app instances).
type RestartCounter interface {
	Restarts(ctx context.Context, svc string) (Restarts, error)
}

// DefaultCPUWeight is a service's CPU weight unless set otherwise (the
// cgroup v1 cpu.shares and docker --cpu-shares scale).
const DefaultCPUWeight = 1024

// MinCPUWeight is the lowest weight. The local backend also puts a service
// at this weight in the kernel's idle class (cgroup cpu.idle): it runs only
// on CPU no other process wants, and never delays another's wake-up, which
// a low weight alone does not promise. Compose sets the weight only.
const MinCPUWeight = 2

// CPUWeighter is implemented by the controllers of backends that can
// weigh a service's claim on the shared CPUs. On one small machine it
// stands in for "this service runs on another host": a service at a low
// weight only gets CPU the others leave idle.
type CPUWeighter interface {
	// SetCPUWeight sets the service's weight (2..262144, default
	// DefaultCPUWeight) for every process it runs now or later.
	SetCPUWeight(ctx context.Context, svc string, weight int) error
}

// CheckCPUWeight rejects a weight outside the range both backends take.
func CheckCPUWeight(weight int) error {
	if weight < MinCPUWeight || weight > 262144 {
		return fmt.Errorf("cpu weight %d out of range [%d, 262144]", weight, MinCPUWeight)
	}
	return nil
}
