package scenarios

import (
	"context"
	"fmt"

	"github.com/whatif-lab/whatif/chaos"
	. "github.com/whatif-lab/whatif/experiments"
)

// loadSpike is a traffic fault: while injected the client offers rate
// req/s instead of the run's rate, and, when mix is not nil, weighs its ops
// by mix instead of the experiment's own (who sends changes too: a bot
// joins the rush). Nothing in the stack is touched.
func loadSpike(e *Env, rate float64, mix map[string]int) chaos.Fault {
	name := fmt.Sprintf("load spike to %.0f req/s", rate)
	if mix != nil {
		name += fmt.Sprintf(", ops weighted %v", mix)
	}
	return chaos.Func(name,
		func(context.Context) error { e.SetOffered(rate); return e.SetMix(mix) },
		func(context.Context) error { e.SetOffered(0); return e.SetMix(nil) })
}
