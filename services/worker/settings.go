package main

import (
	"sync"
	"time"

	"github.com/whatif-lab/whatif/services/internal/knobs"
)

// The worker's runtime settings (PUT /admin/settings), each also a flag.
const (
	knobRecordCost = "record_cost"
	knobScaleLag   = "scale_lag"
	knobScaleEvery = "scale_every"
)

var settingsTable = knobs.Table{
	{Name: knobRecordCost, Flag: "record-cost", Def: 10 * time.Millisecond, Lo: 0, Hi: 10 * time.Second,
		Help: "the analytics write holds its DB connection this long per record (pg_sleep, a stand-in: a real " +
			"backend and connection held, no CPU), so one member writes at most 1/record-cost records a second"},
	{Name: knobScaleLag, Flag: "scale-lag", Def: time.Second, Lo: 10 * time.Millisecond, Hi: time.Hour,
		Help: "with autoscale on, a group whose lag is older than this gets one more member (up to the partitions)"},
	{Name: knobScaleEvery, Flag: "scale-every", Def: time.Second, Lo: 10 * time.Millisecond, Hi: time.Hour,
		Help: "with autoscale on, how often the lag of each group is compared with scale-lag"},
}

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
