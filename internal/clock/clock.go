// Package clock holds time helpers shared by the module's packages.
package clock

import (
	"context"
	"time"
)

// Sleep waits d or until ctx ends, whichever is first. It reports whether
// the full duration passed with ctx still live; a d <= 0 returns at once,
// true unless ctx has ended.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
