package chaos_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/whatif-lab/whatif/chaos"
)

func TestSequence(t *testing.T) {
	tests := []struct {
		name         string
		injectFails  map[string]int
		recoverFails map[string]int
		ops          []string // inject, recover
		wantErrs     []bool   // per op
		wantCalls    []string
	}{
		{
			name:      "inject in order, recover in reverse",
			ops:       []string{"inject", "recover"},
			wantErrs:  []bool{false, false},
			wantCalls: []string{"inject a", "inject b", "inject c", "recover c", "recover b", "recover a"},
		},
		{
			name:        "failed inject rolls back what was started, itself included",
			injectFails: map[string]int{"b": 1},
			ops:         []string{"inject", "recover"},
			wantErrs:    []bool{true, false},
			wantCalls:   []string{"inject a", "inject b", "recover b", "recover a"},
		},
		{
			name:         "failed recover goes on and is retried in full",
			recoverFails: map[string]int{"b": 1},
			ops:          []string{"inject", "recover", "recover", "recover"},
			wantErrs:     []bool{false, true, false, false},
			wantCalls: []string{"inject a", "inject b", "inject c",
				"recover c", "recover b", "recover a",
				"recover c", "recover b", "recover a"},
		},
		{
			name:      "recover before inject does nothing",
			ops:       []string{"recover"},
			wantErrs:  []bool{false},
			wantCalls: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &callLog{}
			var fakes []*fakeFault
			var faults []chaos.Fault
			for _, n := range []string{"a", "b", "c"} {
				f := &fakeFault{name: n, injectFails: tc.injectFails[n], recoverFails: tc.recoverFails[n], log: log}
				fakes = append(fakes, f)
				faults = append(faults, f)
			}
			s := chaos.Sequence(faults...)
			ctx := context.Background()
			for i, op := range tc.ops {
				var err error
				if op == "inject" {
					err = s.Inject(ctx)
				} else {
					err = s.Recover(ctx)
				}
				if (err != nil) != tc.wantErrs[i] {
					t.Fatalf("op %d %s: err %v, want error %v", i, op, err, tc.wantErrs[i])
				}
				if err != nil && !errors.Is(err, errBoom) {
					t.Fatalf("op %d %s: err %v does not wrap the fault's error", i, op, err)
				}
			}
			if got := log.get(); !slices.Equal(got, tc.wantCalls) {
				t.Errorf("calls\n got %q\nwant %q", got, tc.wantCalls)
			}
			for _, f := range fakes {
				if _, _, inPlace := f.counts(); inPlace {
					t.Errorf("%s still in place", f.name)
				}
			}
		})
	}
}

func TestSequenceName(t *testing.T) {
	s := chaos.Sequence(&fakeFault{name: "a"}, &fakeFault{name: "b"})
	if got, want := s.Name(), "sequence(a, b)"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
}
