package experiments

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The box clock wakes every boxTick and records, per second of the run, how
// late its latest wake-up was. The services share the runner's two cores,
// so when the whole box is descheduled (a stall every process sees at once,
// found here by the leader's Patroni loop running 90-120 ms late) the
// runner's wake-ups are late too: a stall of the box, not of the system
// under test.
const (
	boxTick = 10 * time.Millisecond
	// BoxStall is the lateness from which a second counts as stalled. A
	// saturated box here wakes up to ~40 ms late (2026-12-07, slow-query
	// at peak), the stalls seen were 90-120 ms.
	BoxStall = 50 * time.Millisecond
)

// watchBox returns the worst wake-up lateness of each second since start,
// until ctx ends.
func watchBox(ctx context.Context, start time.Time) []time.Duration {
	var late []time.Duration
	t := time.NewTimer(boxTick)
	defer t.Stop()
	due := time.Now().Add(boxTick)
	for {
		select {
		case <-ctx.Done():
			return late
		case <-t.C:
			now := time.Now() // not the timer's own time: a late goroutine counts too
			sec := int(now.Sub(start) / time.Second)
			for len(late) <= sec {
				late = append(late, 0)
			}
			late[sec] = max(late[sec], now.Sub(due))
			due = now.Add(boxTick)
			t.Reset(boxTick)
		}
	}
}

// stalledSeconds are the seconds whose requests a box stall could have
// slowed: a stalled second and the one before it (whose last requests
// were still in flight).
func stalledSeconds(late []time.Duration) map[int]bool {
	out := map[int]bool{}
	for s, l := range late {
		if l >= BoxStall {
			out[s], out[s-1] = true, true
		}
	}
	return out
}

// boxNote says where the box stalled in a run, for its report.
func boxNote(late []time.Duration) string {
	var at []string
	worst := time.Duration(0)
	for s, l := range late {
		if l >= BoxStall {
			at = append(at, fmt.Sprint(s))
			worst = max(worst, l)
		}
	}
	if len(at) == 0 {
		return ""
	}
	return fmt.Sprintf("the box stalled (the runner woke >= %v late) in second %s of the load, worst %v",
		BoxStall, strings.Join(at, ", "), worst.Round(time.Millisecond))
}
