package loadgen

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestPickWeighted(t *testing.T) {
	a, b, c := FuncOp("a", nil), FuncOp("b", nil), FuncOp("c", nil)
	m, err := newMix(Plan{Seed: 1, Mix: []Weighted{{Op: a, Weight: 1}, {Op: b, Weight: 1}, {Op: c, Weight: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		w       []int
		want    map[string][2]int // op -> [min, max] picks of 1000
		wantErr string
	}{
		{name: "nil is the plan's weights", w: nil, want: map[string][2]int{"a": {250, 420}, "b": {250, 420}, "c": {250, 420}}},
		{name: "a zero weight is never picked", w: []int{0, 1, 1}, want: map[string][2]int{"a": {0, 0}, "b": {420, 580}, "c": {420, 580}}},
		{name: "shares follow the weights", w: []int{8, 1, 1}, want: map[string][2]int{"a": {740, 860}, "b": {50, 150}, "c": {50, 150}}},
		{name: "wrong length", w: []int{1, 1}, wantErr: "2 weights for 3 ops"},
		{name: "negative", w: []int{1, -1, 1}, wantErr: "b a negative weight"},
		{name: "all zero", w: []int{0, 0, 0}, wantErr: "summed to zero"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]int{}
			for range 1000 {
				e, err := m.pickWeighted(tc.w)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got[e.op.Name()]++
			}
			for op, r := range tc.want {
				if got[op] < r[0] || got[op] > r[1] {
					t.Errorf("%s picked %d of 1000, want %d..%d", op, got[op], r[0], r[1])
				}
			}
		})
	}
}

// A Weights function that switches the mix mid-run moves the requests
// from then on; one that goes bad stops the run with its error.
func TestRunFollowsWeights(t *testing.T) {
	ok := func(name string) Op {
		return FuncOp(name, func(context.Context, uint64) Result { return Result{Code: 200} })
	}
	p := Plan{
		Rate: ConstantRate(100), Duration: 2 * time.Second, MaxInFlight: 8,
		Mix: []Weighted{{Op: ok("user"), Weight: 1}, {Op: ok("bot"), Weight: 1}},
		Weights: func(at time.Duration) []int {
			if at < time.Second {
				return []int{1, 0}
			}
			return nil
		},
	}
	tl, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if bot := tl.Window(0, time.Second, "bot").Offered; bot != 0 {
		t.Errorf("bot offered %d requests while its weight was 0", bot)
	}
	if bot := tl.Window(time.Second, 2*time.Second, "bot").Offered; bot < 20 {
		t.Errorf("bot offered %d of ~100 requests once the plan's weights were back", bot)
	}

	p.Weights = func(at time.Duration) []int {
		if at < 300*time.Millisecond {
			return nil
		}
		return []int{1}
	}
	_, err = Run(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "1 weights for 2 ops") {
		t.Errorf("bad weights: err = %v", err)
	}
}
