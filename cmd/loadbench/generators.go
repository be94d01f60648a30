package main

import (
	"context"
	"net/http"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/whatif-lab/whatif/loadgen"
)

// load is one constant-rate run against url.
type load struct {
	URL      string
	Rate     int // requests per second
	Duration time.Duration
	Conns    int // concurrency bound: workers and connections
	Timeout  time.Duration
}

// outcome is what a run produced, in the same terms for both generators.
type outcome struct {
	Start     time.Time // t=0 of the schedule
	Offered   int64     // what the schedule asked for
	Sent      int64
	Dropped   int64 // whatif: counted drops; vegeta never drops, it falls behind
	Completed int64
	OK        int64
	P90, P99  time.Duration
	CPU       time.Duration // user+sys of this process during the run
}

// notSent is the share of the offered load that never went out.
func (o outcome) notSent() float64 {
	if o.Offered == 0 {
		return 0
	}
	return float64(o.Offered-o.Sent) / float64(o.Offered)
}

// achieved is successful answers per second of schedule.
func (o outcome) achieved(d time.Duration) float64 { return float64(o.OK) / d.Seconds() }

type generator func(context.Context, load) (outcome, error)

// runOurs drives the load with loadgen.Run: open loop, bounded in-flight.
func runOurs(ctx context.Context, l load) (outcome, error) {
	client := loadgen.NewHTTPClient(l.Conns)
	defer client.CloseIdleConnections()
	op := &loadgen.HTTPOp{OpName: "get", Client: client, URL: func(uint64) (string, string) { return l.URL, "" }}
	cpu0 := cpuTime()
	tl, err := loadgen.Run(ctx, loadgen.Plan{
		Rate:        loadgen.ConstantRate(float64(l.Rate)),
		Duration:    l.Duration,
		MaxInFlight: l.Conns,
		Mix:         []loadgen.Weighted{{Op: op, Weight: 1}},
		Policy:      loadgen.Policy{Timeout: l.Timeout},
	})
	cpu := cpuTime() - cpu0
	if err != nil {
		return outcome{}, err
	}
	s := tl.Window(0, l.Duration)
	return outcome{Start: tl.Start(), Offered: s.Offered, Sent: s.Sent, Dropped: s.Dropped,
		Completed: s.Completed, OK: s.OK, P90: s.P90, P99: s.P99, CPU: cpu}, nil
}

// vegetaRunner returns a generator using vegeta's library with a constant
// pacer. maxWorkers 0 keeps vegeta's default (unbounded workers); otherwise
// workers are capped like our in-flight bound. Connections are capped at
// l.Conns either way, as for ours. Results are consumed as cheaply as
// possible (a count and one HDR histogram), so vegeta pays no reporting cost
// beyond its own.
func vegetaRunner(maxWorkers int) generator {
	return func(ctx context.Context, l load) (outcome, error) {
		opts := []func(*vegeta.Attacker){
			vegeta.Connections(l.Conns), vegeta.MaxConnections(l.Conns),
			vegeta.Timeout(l.Timeout), vegeta.KeepAlive(true),
		}
		if maxWorkers > 0 {
			opts = append(opts, vegeta.MaxWorkers(uint64(maxWorkers)))
		}
		atk := vegeta.NewAttacker(opts...)
		targeter := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: l.URL})
		pacer := vegeta.ConstantPacer{Freq: l.Rate, Per: time.Second}
		h := hdrhistogram.New(1, 5*60*1e6, 3)
		cpu0 := cpuTime()
		o := outcome{Start: time.Now(), Offered: int64(float64(l.Rate) * l.Duration.Seconds())}
		stop := context.AfterFunc(ctx, func() { atk.Stop() })
		defer stop()
		for res := range atk.Attack(targeter, pacer, l.Duration, "bench") {
			o.Sent++
			o.Completed++ // every vegeta result ended, in an answer or an error
			if res.Code >= 200 && res.Code < 300 {
				o.OK++
			}
			h.RecordValue(max(res.Latency.Microseconds(), 1))
		}
		o.CPU = cpuTime() - cpu0
		o.P90 = time.Duration(h.ValueAtQuantile(90)) * time.Microsecond
		o.P99 = time.Duration(h.ValueAtQuantile(99)) * time.Microsecond
		return o, ctx.Err()
	}
}
