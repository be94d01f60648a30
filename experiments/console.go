package experiments

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

// console prints one line per second: phase, offered and achieved rate,
// ok %, p99 and the experiment's key gauges.
type console struct {
	w     io.Writer
	name  string
	watch []string
	gauge []string

	mu         sync.Mutex
	ph         Phase
	prev, last *Sample
}

func newConsole(w io.Writer, r *Run, x Experiment) *console {
	return &console{w: w, name: fmt.Sprintf("%s/%s", r.Variant, r.Level), watch: x.Watch, gauge: x.Gauges, ph: Baseline}
}

func (c *console) phase(p Phase) {
	c.mu.Lock()
	c.ph = p
	c.mu.Unlock()
	if c.w != nil {
		fmt.Fprintf(c.w, "%-20s ---- %s\n", c.name, p)
	}
}

func (c *console) sample(s Sample) {
	c.mu.Lock()
	c.prev, c.last = c.last, &s
	c.mu.Unlock()
}

func (c *console) second(s loadgen.Second) {
	if c.w == nil {
		return
	}
	t := s.All
	if t.To-t.From < time.Second {
		return // the run was stopped inside this second: its per-second figures would be extrapolated
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	// the second's requests may still be in flight: figures cover those done
	fmt.Fprintf(&b, "%-20s %4ds %-8s offered %5.0f/s ok %5.0f/s err %5.1f%% deg %4d drop %4d p99 %7.1fms",
		c.name, s.Second, c.ph, t.Rate, t.Achieved, 100*t.ErrorRate, t.Degraded, t.Dropped, t.P99.Seconds()*1000)
	if c.prev != nil && c.last != nil && c.last.At > c.prev.At {
		dt := (c.last.At - c.prev.At).Seconds()
		for _, k := range c.watch {
			fmt.Fprintf(&b, " | %s %.0f/s", k, (c.last.Values[k]-c.prev.Values[k])/dt)
		}
	}
	if c.last != nil {
		for _, k := range c.gauge {
			if v, ok := c.last.Text[k]; ok {
				fmt.Fprintf(&b, " | %s %s", k, v)
			} else {
				fmt.Fprintf(&b, " | %s %.0f", k, c.last.Values[k])
			}
		}
	}
	fmt.Fprintln(c.w, b.String())
}
