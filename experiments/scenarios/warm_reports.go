package scenarios

import (
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"

	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// reportsPerConn is how many reports each warm-up stream sends in turn.
const reportsPerConn = 10

// warmReports sends reports through the API before the run, as many
// streams at once as the report pool has connections, each one report at
// a time (so none waits for a connection).
// A service that has served reports for a while has live connections
// and replica backends with their catalog caches loaded; the baseline
// starts from that. Without it, at peak, the first reports found pool
// connections HAProxy had cut (it cuts the leader's read sessions when the
// replica comes up) and fresh backends that, at the replica's lowest CPU
// weight, took ~90 ms for their first report; the acquires queued behind
// them hit their 40 ms bound and failed.
func warmReports(ctx context.Context, e *Env) error {
	nums, _, err := e.Admin().Stats(ctx)
	if err != nil {
		return fmt.Errorf("warming reports: %w", err)
	}
	streams := int(nums["pool.reports.max"])
	if streams < 1 {
		return fmt.Errorf("warming reports: the API reports no report pool (pool.reports.max %v)", nums["pool.reports.max"])
	}
	report := spendReports(e)
	g, ctx := errgroup.WithContext(ctx)
	for s := range streams {
		g.Go(func() error {
			var last loadgen.Result
			ok := 0
			for i := range reportsPerConn {
				if last = report.Do(ctx, uint64(s*reportsPerConn+i)); last.OK() {
					ok++
				}
			}
			if ok == 0 {
				return fmt.Errorf("warming reports: no report answered (last: code %d %s)", last.Code, last.Err)
			}
			return nil
		})
	}
	return g.Wait()
}
