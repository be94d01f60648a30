package experiments

import (
	"context"
	"fmt"

	"github.com/whatif-lab/whatif/chaos"
)

// loadSpike is a traffic fault: while injected the client offers rate
// req/s instead of the run's rate. Nothing in the stack is touched.
func loadSpike(e *Env, rate float64) chaos.Fault {
	return chaos.Func(fmt.Sprintf("load spike to %.0f req/s", rate),
		func(context.Context) error { e.setOffered(rate); return nil },
		func(context.Context) error { e.setOffered(0); return nil })
}
