// Package ratelimit limits requests per client: a token bucket per client
// id, the buckets kept in a bounded cache so that many ids cannot grow
// memory without bound (an evicted client starts again with a full burst).
package ratelimit

import (
	"fmt"

	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// PerClient holds one token bucket per client id. Safe for concurrent use.
type PerClient struct {
	limit rate.Limit
	burst int
	c     *otter.Cache[string, *rate.Limiter]
}

// New allows each client perSecond requests a second on average and burst
// at once, remembering at most maxClients clients.
func New(perSecond float64, burst, maxClients int) (*PerClient, error) {
	switch {
	case !(perSecond > 0):
		return nil, fmt.Errorf("ratelimit: rate must be positive, got %v", perSecond)
	case burst < 1:
		return nil, fmt.Errorf("ratelimit: burst must be at least 1, got %d", burst)
	case maxClients < 1:
		return nil, fmt.Errorf("ratelimit: maxClients must be at least 1, got %d", maxClients)
	}
	c, err := otter.New(&otter.Options[string, *rate.Limiter]{MaximumSize: maxClients})
	if err != nil {
		return nil, fmt.Errorf("ratelimit: %w", err)
	}
	return &PerClient{limit: rate.Limit(perSecond), burst: burst, c: c}, nil
}

// Allow takes a token from client's bucket and reports whether there was one.
func (p *PerClient) Allow(client string) bool {
	l, ok := p.c.GetIfPresent(client)
	if !ok {
		l, _ = p.c.SetIfAbsent(client, rate.NewLimiter(p.limit, p.burst))
	}
	return l.Allow()
}
