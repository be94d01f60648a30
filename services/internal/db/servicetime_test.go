package db

import (
	"testing"
	"time"
)

func TestServiceTimeLearnsAndFollows(t *testing.T) {
	var s serviceTime
	if got := s.get(); got != 0 {
		t.Fatalf("nothing observed: %v, want 0", got)
	}
	s.observe(20 * time.Millisecond)
	if got := s.get(); got != 20*time.Millisecond {
		t.Fatalf("first call: %v, want 20ms", got)
	}
	// the database doubles its cost: within ~60 calls the mean is close
	for range 60 {
		s.observe(40 * time.Millisecond)
	}
	if got := s.get(); got < 38*time.Millisecond || got > 40*time.Millisecond {
		t.Fatalf("after 60 calls at 40ms: %v, want 38-40ms", got)
	}
	s.reset()
	if got := s.get(); got != 0 {
		t.Fatalf("after reset: %v, want 0", got)
	}
}
