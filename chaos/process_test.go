package chaos_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
)

// fakeController records calls and fails the ones listed in fail (once each).
type fakeController struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]int // "kill" -> times to fail
}

func (c *fakeController) do(verb, svc string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, verb+" "+svc)
	if c.fail[verb] > 0 {
		c.fail[verb]--
		return errBoom
	}
	return nil
}

func (c *fakeController) Kill(_ context.Context, svc string) error   { return c.do("kill", svc) }
func (c *fakeController) Pause(_ context.Context, svc string) error  { return c.do("pause", svc) }
func (c *fakeController) Resume(_ context.Context, svc string) error { return c.do("resume", svc) }
func (c *fakeController) Start(_ context.Context, svc string) error  { return c.do("start", svc) }
func (c *fakeController) Launch(_ context.Context, svc string) error { return c.do("start", svc) }
func (c *fakeController) AwaitHealthy(_ context.Context, svc string) error {
	return c.do("await", svc)
}

var _ compose.Controller = (*fakeController)(nil)

func TestProcessFaults(t *testing.T) {
	tests := []struct {
		name      string
		fault     func(compose.Controller) chaos.Fault
		fail      map[string]int
		ops       []string
		wantErrs  []bool
		wantCalls []string
	}{
		{
			name:      "kill then start",
			fault:     func(c compose.Controller) chaos.Fault { return chaos.Kill(c, "redis") },
			ops:       []string{"inject", "recover", "recover"},
			wantErrs:  []bool{false, false, false},
			wantCalls: []string{"kill redis", "start redis"},
		},
		{
			name:      "failed kill is still recovered: part of the tree may be dead",
			fault:     func(c compose.Controller) chaos.Fault { return chaos.Kill(c, "redis") },
			fail:      map[string]int{"kill": 1},
			ops:       []string{"inject", "recover"},
			wantErrs:  []bool{true, false},
			wantCalls: []string{"kill redis", "start redis"},
		},
		{
			name:      "failed start is retried",
			fault:     func(c compose.Controller) chaos.Fault { return chaos.Kill(c, "redis") },
			fail:      map[string]int{"start": 1},
			ops:       []string{"inject", "recover", "recover", "recover"},
			wantErrs:  []bool{false, true, false, false},
			wantCalls: []string{"kill redis", "start redis", "start redis"},
		},
		{
			name:      "recover without inject does nothing",
			fault:     func(c compose.Controller) chaos.Fault { return chaos.Kill(c, "redis") },
			ops:       []string{"recover"},
			wantErrs:  []bool{false},
			wantCalls: nil,
		},
		{
			name:      "pause then resume",
			fault:     func(c compose.Controller) chaos.Fault { return chaos.Pause(c, "pg0") },
			ops:       []string{"inject", "recover", "recover"},
			wantErrs:  []bool{false, false, false},
			wantCalls: []string{"pause pg0", "resume pg0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &fakeController{fail: tc.fail}
			f := tc.fault(c)
			ctx := context.Background()
			for i, op := range tc.ops {
				var err error
				if op == "inject" {
					err = f.Inject(ctx)
				} else {
					err = f.Recover(ctx)
				}
				if (err != nil) != tc.wantErrs[i] {
					t.Fatalf("op %d %s: err %v, want error %v", i, op, err, tc.wantErrs[i])
				}
				if err != nil && !errors.Is(err, errBoom) {
					t.Fatalf("op %d %s: err %v does not wrap the controller's error", i, op, err)
				}
			}
			if !slices.Equal(c.calls, tc.wantCalls) {
				t.Errorf("calls\n got %q\nwant %q", c.calls, tc.wantCalls)
			}
		})
	}
}

func TestProcessFaultNilController(t *testing.T) {
	f := chaos.Kill(nil, "redis")
	if err := f.Inject(context.Background()); err == nil {
		t.Fatal("Inject with nil controller succeeded")
	}
	if got, want := f.Name(), "kill redis"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
}

// Kill's Recover only launches the service again; the runner awaits it
// through Settled.
func TestKillSettles(t *testing.T) {
	c := &fakeController{}
	k := chaos.Kill(c, "redis")
	ctx := context.Background()
	for _, step := range []func(context.Context) error{k.Inject, k.Recover, k.Settled} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"kill redis", "start redis", "await redis"}; !slices.Equal(c.calls, want) {
		t.Errorf("calls %q, want %q", c.calls, want)
	}
}
