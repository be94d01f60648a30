package chaos_test

import (
	"context"
	"errors"
	"testing"

	"github.com/whatif-lab/whatif/chaos"
)

func TestFunc(t *testing.T) {
	ctx := context.Background()
	var calls []string
	f := chaos.Func("flip",
		func(context.Context) error { calls = append(calls, "inject"); return nil },
		func(context.Context) error { calls = append(calls, "recover"); return errBoom })
	if f.Name() != "flip" || f.Inject(ctx) != nil || !errors.Is(f.Recover(ctx), errBoom) {
		t.Fatalf("calls %q", calls)
	}
	bare := chaos.Func("bare", nil, nil)
	if bare.Inject(ctx) == nil {
		t.Error("Inject without a function succeeded")
	}
	if err := bare.Recover(ctx); err != nil {
		t.Errorf("Recover without a function: %v", err)
	}
}
