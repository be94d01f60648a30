package docker

import (
	"context"
	"sync"

	"github.com/moby/moby/client"
)

// oomWatch counts the engine's "oom" events per service for the life of
// the stack. A container's state keeps only its last exit's OOMKilled, so a
// crash-loop's kills can only be counted as they happen.
type oomWatch struct {
	mu     sync.Mutex
	counts map[string]int
	err    error // the stream broke: counts are incomplete from then on
}

func (w *oomWatch) run(ctx context.Context, cli interface {
	Events(context.Context, client.EventsListOptions) client.EventsResult
}, project string, ready chan<- struct{}) {
	f := client.Filters{}.Add("type", "container").Add("event", "oom").Add("label", labelProject+"="+project)
	res := cli.Events(ctx, client.EventsListOptions{Filters: f})
	close(ready)
	for {
		select {
		case m := <-res.Messages:
			w.mu.Lock()
			w.counts[m.Actor.Attributes[labelService]]++
			w.mu.Unlock()
		case err := <-res.Err:
			if ctx.Err() == nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
			return
		}
	}
}

// kills is the OOM kills of svc so far, -1 if the stream broke.
func (w *oomWatch) kills(svc string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return -1
	}
	return w.counts[svc]
}
