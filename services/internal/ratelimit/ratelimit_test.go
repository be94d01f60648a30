package ratelimit

import "testing"

func TestNewRejectsNonsense(t *testing.T) {
	for _, tc := range []struct {
		name          string
		rate          float64
		burst, maxCli int
	}{
		{"zero rate", 0, 1, 1},
		{"negative rate", -1, 1, 1},
		{"zero burst", 1, 0, 1},
		{"no clients", 1, 1, 0},
	} {
		if _, err := New(tc.rate, tc.burst, tc.maxCli); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestBurstThenRefusedPerClient(t *testing.T) {
	// a rate so low that no token refills during the test
	p, err := New(0.001, 3, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !p.Allow("a") {
			t.Fatalf("request %d of a burst of 3 refused", i+1)
		}
	}
	if p.Allow("a") {
		t.Fatal("fourth request allowed past the burst")
	}
	if !p.Allow("b") {
		t.Fatal("another client was limited by a's bucket")
	}
}
