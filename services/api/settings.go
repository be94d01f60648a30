package main

import (
	"sync"
	"time"

	"github.com/whatif-lab/whatif/services/api/knob"
)

// settings are the live knob values. Changes go through app.applySettings
// so that the components keeping their own copy (breaker, L1) follow.
type settings struct {
	mu sync.RWMutex
	v  knob.Values
}

func (s *settings) get(name string) time.Duration {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.v[name]
}

func (s *settings) snapshot() map[string]string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]string, len(s.v))
	for n, d := range s.v {
		out[n] = d.String()
	}
	return out
}

// seconds reports every knob as "<name>_seconds" for /admin/stats.
func (s *settings) seconds() map[string]float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]float64, len(s.v))
	for n, d := range s.v {
		out[n+"_seconds"] = d.Seconds()
	}
	return out
}
