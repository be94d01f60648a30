package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/whatif-lab/whatif/loadgen"
)

func newTable(out io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
}

func maxRateSection(ctx context.Context, c config, url string, out, progress io.Writer) error {
	fmt.Fprintf(out, "\n1. Max constant rate: >= %.0f%% of the target answered OK, <= %.0f%% not sent (%v steps, <= %v in all)\n",
		minAchieved*100, maxNotSent*100, c.step, c.searchTime)
	base := load{URL: url, Duration: c.step, Conns: c.conns, Timeout: c.timeout}
	gens := []struct {
		name string
		gen  generator
	}{
		{"whatif loadgen", runOurs},
		{fmt.Sprintf("vegeta (max-workers %d)", c.conns), vegetaRunner(c.conns)},
	}
	fmt.Fprintf(progress, "  searching both, interleaved...\n")
	funcs := make([]generator, len(gens))
	for i, g := range gens {
		funcs[i] = g.gen
	}
	searches, err := searchMaxRates(ctx, funcs, base, c.startRate, c.maxRate, c.searchTime)
	if err != nil {
		return err
	}
	best := make([]int, len(gens))
	trails := make([]string, len(gens))
	for i, s := range searches {
		best[i] = s.lo
		var trail []string
		for _, st := range s.steps {
			if st.Pass {
				trail = append(trail, fmt.Sprintf("%d ok", st.Rate))
			} else {
				trail = append(trail, fmt.Sprintf("%d FAIL(%.1f%% ok, %.1f%% unsent)", st.Rate, st.Achieved*100, st.NotSent*100))
			}
		}
		if !s.done {
			trail = append(trail, "(budget reached)")
		}
		trails[i] = strings.Join(trail, ", ")
	}
	tw := newTable(out)
	fmt.Fprintln(tw, "generator\tmax rate (req/s)\t")
	for i, g := range gens {
		fmt.Fprintf(tw, "%s\t%d\t\n", g.name, best[i])
	}
	tw.Flush()
	for i, g := range gens {
		fmt.Fprintf(out, "   %s steps: %s\n", g.name, trails[i])
	}
	fmt.Fprintf(out, "   ratio whatif/vegeta: %s\n", ratio(float64(best[0]), float64(best[1])))
	return nil
}

func cpuSection(ctx context.Context, c config, url string, out, progress io.Writer) error {
	fmt.Fprintf(out, "\n2. CPU per completed request at %d req/s for %v (user+sys of this process)\n", c.cpuRate, c.cpuTime)
	l := load{URL: url, Rate: c.cpuRate, Duration: c.cpuTime, Conns: c.conns, Timeout: c.timeout}
	gens := []struct {
		name string
		gen  generator
	}{
		{"whatif loadgen", runOurs},
		{fmt.Sprintf("vegeta (max-workers %d)", c.conns), vegetaRunner(c.conns)},
	}
	perReq := make([]float64, len(gens))
	tw := newTable(out)
	fmt.Fprintln(tw, "generator\tcompleted\tOK\tnot sent\tcpu\tcpu/request\t")
	for i, g := range gens {
		fmt.Fprintf(progress, "  measuring %s...\n", g.name)
		o, err := g.gen(ctx, l)
		if err != nil {
			return fmt.Errorf("%s: %w", g.name, err)
		}
		if o.Completed > 0 {
			perReq[i] = float64(o.CPU) / float64(o.Completed)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%v\t%v\t\n", g.name, o.Completed, o.OK, o.Offered-o.Sent, o.CPU.Round(time.Millisecond),
			time.Duration(perReq[i]).Round(100*time.Nanosecond))
	}
	tw.Flush()
	fmt.Fprintf(out, "   ratio vegeta/whatif (higher = whatif cheaper): %s\n", ratio(perReq[1], perReq[0]))
	return nil
}

func omissionSection(ctx context.Context, c config, url string, out, progress io.Writer) error {
	fmt.Fprintf(out, "\n3. Coordinated omission: %d req/s for %v, the server stalls every request for %v at %v\n",
		c.coRate, c.coTime, c.coStall, c.coStallAt)
	rows := []struct {
		name  string
		gen   generator
		conns int
	}{
		{fmt.Sprintf("whatif loadgen (in-flight %d)", c.coConns), runOurs, c.coConns},
		{fmt.Sprintf("whatif loadgen (in-flight %d)", c.coWorkers), runOurs, c.coWorkers},
		{"vegeta (default: unbounded workers)", vegetaRunner(0), c.coConns},
		{fmt.Sprintf("vegeta (max-workers %d)", c.coWorkers), vegetaRunner(c.coWorkers), c.coConns},
	}
	tw := newTable(out)
	fmt.Fprintln(tw, "generator\tsent\tnot sent\tp90\ttrue p90\tp99\ttrue p99\tp99/true\t")
	for _, r := range rows {
		fmt.Fprintf(progress, "  stalling under %s...\n", r.name)
		l := load{URL: url, Rate: c.coRate, Duration: c.coTime, Conns: r.conns, Timeout: c.coStall + 5*time.Second}
		run, err := runWithStall(ctx, r.gen, l, c.coStallAt, c.coStall)
		if err != nil {
			return fmt.Errorf("%s: %w", r.name, err)
		}
		truth := trueLatencies(c.coRate, c.coTime, run.From, run.To)
		t90, t99 := quantile(truth, 0.90), quantile(truth, 0.99)
		o := run.Outcome
		ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%v\t%v\t%v\t%s\t\n", r.name, o.Sent, o.Offered-o.Sent,
			ms(o.P90), ms(t90), ms(o.P99), ms(t99), ratio(float64(o.P99), float64(t99)))
	}
	tw.Flush()
	fmt.Fprintf(out, "   true pNN: what the schedule implies if each request scheduled during the stall waits for its end and\n"+
		"   every other one is instant (true p99 ~ stall - 1%% of the run = %v). Measured values above it include\n"+
		"   the real time to answer the requests held by the stall; values far below it are coordinated omission.\n"+
		"   \"not sent\": whatif's dropped count (no free worker within %v), or vegeta's lag at the end.\n",
		(c.coStall - c.coTime/100).Round(time.Millisecond), loadgen.DefaultDropAfter)
	return nil
}

func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
