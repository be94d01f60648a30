package scenarios

import (
	"context"
	"fmt"

	"github.com/whatif-lab/whatif/chaos"
	. "github.com/whatif-lab/whatif/experiments"
)

// loadSpike is a traffic fault: while injected the client offers rate
// req/s instead of the run's rate. Nothing in the stack is touched.
func loadSpike(e *Env, rate float64) chaos.Fault {
	return chaos.Func(fmt.Sprintf("load spike to %.0f req/s", rate),
		func(context.Context) error { e.SetOffered(rate); return nil },
		func(context.Context) error { e.SetOffered(0); return nil })
}
