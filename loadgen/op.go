package loadgen

import "context"

// Op performs ONE attempt of a logical request. Do must derive everything it
// sends, in particular Result.Key, from seq alone: retries call Do again with
// the same seq and must reuse the same key (an idempotency key stays the same
// across retries). Do fills Code, Err, ErrClass, Key, Degraded, RetryAfter and
// Body; the Client fills the rest.
type Op interface {
	Name() string
	Do(ctx context.Context, seq uint64) Result
}

// Weighted is one entry of a Plan's op mix.
type Weighted struct {
	Op     Op
	Weight int     // relative share of requests, > 0
	Policy *Policy // overrides Plan.Policy for this op when non-nil
}

// FuncOp adapts a function to Op, for non-HTTP ops and tests.
func FuncOp(name string, do func(ctx context.Context, seq uint64) Result) Op {
	return funcOp{name: name, do: do}
}

type funcOp struct {
	name string
	do   func(ctx context.Context, seq uint64) Result
}

func (o funcOp) Name() string { return o.name }

func (o funcOp) Do(ctx context.Context, seq uint64) Result {
	r := o.do(ctx, seq)
	r.Op, r.Seq = o.name, seq
	return r
}

// validator is implemented by ops that can reject their configuration before
// a run starts instead of failing every request.
type validator interface{ Validate() error }
