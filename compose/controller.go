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
