package main

import (
	"sync"
	"time"

	"github.com/whatif-lab/whatif/services/internal/knobs"
)

// settings holds the current values; safe for concurrent use.
type settings struct {
	mu sync.Mutex
	v  knobs.Values
}

func newSettings(v knobs.Values) *settings { return &settings{v: v} }

func (s *settings) get(name string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v[name]
}

func (s *settings) apply(kv knobs.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, d := range kv {
		s.v[n] = d
	}
}

func (s *settings) snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.v))
	for n, d := range s.v {
		out[n] = d.String()
	}
	return out
}
