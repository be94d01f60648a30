package chaos_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/whatif-lab/whatif/chaos"
)

type guardStep struct {
	op        string // inject, recover, close
	wantErr   error  // nil, chaos.ErrState, chaos.ErrClosed or errBoom
	wantState chaos.State
}

func TestGuardLifecycle(t *testing.T) {
	tests := []struct {
		name                      string
		injectFails, recoverFails int
		steps                     []guardStep
		wantInjects, wantRecovers int
	}{
		{
			name: "inject recover inject close",
			steps: []guardStep{
				{"inject", nil, chaos.Active},
				{"recover", nil, chaos.Idle},
				{"inject", nil, chaos.Active},
				{"close", nil, chaos.Closed},
				{"inject", chaos.ErrClosed, chaos.Closed},
			},
			wantInjects: 2, wantRecovers: 2,
		},
		{
			name:  "recover from idle is refused",
			steps: []guardStep{{"recover", chaos.ErrState, chaos.Idle}},
		},
		{
			name: "inject twice is refused",
			steps: []guardStep{
				{"inject", nil, chaos.Active},
				{"inject", chaos.ErrState, chaos.Active},
			},
			wantInjects: 1,
		},
		{
			name:        "failed inject must be recovered before the next inject",
			injectFails: 1,
			steps: []guardStep{
				{"inject", errBoom, chaos.Failed},
				{"inject", chaos.ErrState, chaos.Failed},
				{"recover", nil, chaos.Idle},
				{"inject", nil, chaos.Active},
			},
			wantInjects: 2, wantRecovers: 1,
		},
		{
			name:        "close recovers a failed inject",
			injectFails: 1,
			steps: []guardStep{
				{"inject", errBoom, chaos.Failed},
				{"close", nil, chaos.Closed},
			},
			wantInjects: 1, wantRecovers: 1,
		},
		{
			name:         "failed recover is retried by recover",
			recoverFails: 1,
			steps: []guardStep{
				{"inject", nil, chaos.Active},
				{"recover", errBoom, chaos.Failed},
				{"recover", nil, chaos.Idle},
			},
			wantInjects: 1, wantRecovers: 2,
		},
		{
			name:         "failed close is retried by close",
			recoverFails: 1,
			steps: []guardStep{
				{"inject", nil, chaos.Active},
				{"close", errBoom, chaos.Failed},
				{"inject", chaos.ErrClosed, chaos.Failed},
				{"close", nil, chaos.Closed},
				{"close", nil, chaos.Closed},
			},
			wantInjects: 1, wantRecovers: 2,
		},
		{
			name: "close on idle recovers nothing, many times",
			steps: []guardStep{
				{"close", nil, chaos.Closed},
				{"close", nil, chaos.Closed},
				{"recover", chaos.ErrState, chaos.Closed},
			},
		},
		{
			name: "close after active recovers once",
			steps: []guardStep{
				{"inject", nil, chaos.Active},
				{"close", nil, chaos.Closed},
				{"close", nil, chaos.Closed},
			},
			wantInjects: 1, wantRecovers: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFault{name: "fake", injectFails: tc.injectFails, recoverFails: tc.recoverFails}
			g := chaos.NewGuard(f)
			ctx := context.Background()
			for i, s := range tc.steps {
				var err error
				switch s.op {
				case "inject":
					err = g.Inject(ctx)
				case "recover":
					err = g.Recover(ctx)
				case "close":
					err = g.Close(ctx)
				}
				if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
					t.Fatalf("step %d %s: err %v, want %v", i, s.op, err, s.wantErr)
				}
				if got := g.State(); got != s.wantState {
					t.Fatalf("step %d %s: state %v, want %v", i, s.op, got, s.wantState)
				}
			}
			inj, rec, _ := f.counts()
			if inj != tc.wantInjects || rec != tc.wantRecovers {
				t.Errorf("calls: %d injects, %d recovers; want %d, %d", inj, rec, tc.wantInjects, tc.wantRecovers)
			}
		})
	}
}

// TestGuardConcurrent hammers one guard from many goroutines: the fault
// must never be injected on top of itself, and Close must leave it
// recovered.
func TestGuardConcurrent(t *testing.T) {
	f := &fakeFault{name: "fake", injectFails: 5, recoverFails: 5}
	g := chaos.NewGuard(f)
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 300 {
				switch r.IntN(3) {
				case 0:
					_ = g.Inject(ctx)
				case 1:
					_ = g.Recover(ctx)
				default:
					_ = g.State()
				}
			}
		})
	}
	wg.Wait()
	for g.State() != chaos.Closed {
		_ = g.Close(ctx) // may fail while recoverFails lasts
	}
	inj, rec, inPlace := f.counts()
	if inPlace {
		t.Fatal("fault still in place after Close")
	}
	if f.injectWhileInPlace != 0 {
		t.Fatalf("fault injected on top of itself %d times", f.injectWhileInPlace)
	}
	if f.recoverWhileNothing != 0 {
		t.Fatalf("recover with nothing in place %d times", f.recoverWhileNothing)
	}
	t.Logf("%d injects, %d recovers", inj, rec)
}
