package compose

import "context"

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
	// Start starts a killed service again and returns once it is healthy.
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
