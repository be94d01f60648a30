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
// errors, the requests of that second still in flight, what ended since
// the last line (a timeout shows when it fires, not only in the second its
// request was sent), p99 and the experiment's key gauges; and at the end
// of a run one line per phase.
type console struct {
	w     io.Writer
	name  string
	watch []string
	gauge []string

	mu    sync.Mutex
	ph    Phase
	last  *Sample
	seen  map[string]seenAt  // each watched counter's newest value and when
	rates map[string]float64 // each watched counter's rate between its two newest values
	ended endedCount         // results that ended since the last line
}

// seenAt is a counter's value in the newest sample that had it: a service
// that did not answer (paused, killed) leaves its keys out of a sample.
type seenAt struct {
	v  float64
	at time.Duration
}

// endedCount is what ended between two console lines, by wall clock.
type endedCount struct {
	ok, err int
	classes map[string]int
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
	defer c.mu.Unlock()
	c.last = &s
	if c.seen == nil {
		c.seen, c.rates = map[string]seenAt{}, map[string]float64{}
	}
	for _, k := range c.watch {
		v, ok := s.Values[k]
		if !ok {
			delete(c.rates, k) // no answer this second: no rate to show
			continue
		}
		if p, had := c.seen[k]; had && s.At > p.at {
			c.rates[k] = (v - p.v) / (s.At - p.at).Seconds()
		}
		c.seen[k] = seenAt{v, s.At}
	}
}

// result counts a finished request toward the next line.
func (c *console) result(res loadgen.Result) {
	if c.w == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if res.OK() || res.Degraded {
		c.ended.ok++
		return
	}
	c.ended.err++
	if c.ended.classes == nil {
		c.ended.classes = map[string]int{}
	}
	class := res.ErrClass
	if class == "" {
		class = fmt.Sprintf("http%d", res.Code)
	}
	c.ended.classes[class]++
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
	// ok, err and p99 cover the second's requests done so far; "flight"
	// counts those still waiting, "ended" what finished since the last line
	fmt.Fprintf(&b, "%-20s %4ds %-8s offered %5.0f/s ok %5.0f/s err %5.1f%% deg %4d drop %4d flight %5d p99 %7.1fms | ended ok %5d err %5d%s",
		c.name, s.Second, c.ph, t.Rate, t.Achieved, 100*t.ErrorRate, t.Degraded, t.Dropped, max(0, t.Sent-t.Completed-t.Canceled),
		t.P99.Seconds()*1000, c.ended.ok, c.ended.err, c.ended.top())
	c.ended = endedCount{}
	if c.last != nil {
		for _, k := range c.watch {
			switch r, ok := c.rates[k]; {
			case ok:
				fmt.Fprintf(&b, " | %s %.0f/s", k, r)
			case c.silent(k):
				fmt.Fprintf(&b, " | %s ?", k)
			}
		}
		for _, k := range c.gauge {
			if v, ok := c.last.Text[k]; ok {
				fmt.Fprintf(&b, " | %s %s", k, v)
			} else if c.silent(k) {
				fmt.Fprintf(&b, " | %s ?", k)
			} else {
				fmt.Fprintf(&b, " | %s %.0f", k, c.last.Values[k])
			}
		}
	}
	fmt.Fprintln(c.w, b.String())
}

// silent says whether the service of key k ("<service>.<stat>") left
// every key out of the newest sample: it did not answer (paused, killed),
// so its figures are unknown, not zero. An API key has no service prefix
// the sample lacks.
func (c *console) silent(k string) bool {
	svc, _, ok := strings.Cut(k, ".")
	if !ok {
		return false
	}
	if _, ok := c.last.Values[k]; ok {
		return false
	}
	for have := range c.last.Values {
		if strings.HasPrefix(have, svc+".") {
			return false
		}
	}
	return true
}

// top names the commonest error class of what ended, e.g. " (timeout 58)".
func (e endedCount) top() string {
	best, n := "", 0
	for k, v := range e.classes {
		if v > n || v == n && k < best {
			best, n = k, v
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s %d)", best, n)
}

// phases prints one line per phase once the run's timeline is final.
func (c *console) phases(r *Run) {
	if c.w == nil {
		return
	}
	for _, p := range []Phase{Baseline, Faulted, Recovery} {
		s, err := r.Client(p)
		if err != nil {
			fmt.Fprintf(c.w, "%-20s ==== %-8s %v\n", c.name, p, err)
			continue
		}
		fmt.Fprintf(c.w, "%-20s ==== %-8s offered %5.0f/s ok %5.0f/s errors %5.1f%% degraded %5.1f%% dropped %d p50 %7.1fms p99 %7.1fms\n",
			c.name, p, s.Rate, s.Achieved, 100*s.ErrorRate, 100*s.DegradedRate, s.Dropped, ms(s.P50), ms(s.P99))
	}
}
