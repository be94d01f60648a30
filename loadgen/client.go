package loadgen

import (
	"context"
	"strconv"
	"time"

	"github.com/whatif-lab/whatif/internal/clock"
)

// Client runs logical requests under a Policy: attempts, waits between them,
// the retry budget and the overall deadline. Safe for concurrent use; one
// Client shares one retry budget among all its requests.
type Client struct {
	policy Policy
	budget *retryBudget
	now    func() time.Time // clock of the retry budget; tests pin it
}

// NewClient validates p and returns a Client applying it.
func NewClient(p Policy) (*Client, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Client{policy: p, budget: newRetryBudget(p.RetryBudget), now: time.Now}, nil
}

// Do performs logical request seq of op, scheduled at scheduled (the zero
// time means "now"). Every attempt calls op.Do with the same seq, so the key
// is reused. Latency runs from scheduled to the end of the last attempt.
func (c *Client) Do(ctx context.Context, op Op, seq uint64, scheduled time.Time) Result {
	sent := time.Now()
	if scheduled.IsZero() {
		scheduled = sent
	}
	if c.budget != nil {
		c.budget.first(c.now())
	}
	run := ctx // the caller's: cancelled when the run stops
	if c.policy.Deadline > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, sent.Add(c.policy.Deadline))
		defer cancel()
	}
	var res Result
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, c.policy.attemptTimeout())
		res = op.Do(actx, seq)
		cancel()
		res.Attempts = n
		if n >= c.policy.maxAttempts() || !res.retryable() {
			break
		}
		if run.Err() != nil {
			res = cutShort(res)
			break
		}
		if ctx.Err() != nil {
			break
		}
		wait := c.policy.backoff(n, res.RetryAfter)
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			break // the retry could not even start before the deadline
		}
		if c.budget != nil && !c.budget.tryRetry(c.now()) {
			break
		}
		if !clock.Sleep(ctx, wait) {
			if run.Err() != nil {
				res = cutShort(res)
			}
			break
		}
	}
	res.Latency = time.Since(scheduled)
	res.Op, res.Seq, res.Scheduled, res.Sent = op.Name(), seq, scheduled, sent
	return res
}

// cutShort marks a request whose retries the stopping run cut off: it
// counts as cancelled, like a request in flight at the stop, not as the
// failure of its last attempt, which the client would have retried.
func cutShort(res Result) Result {
	last := res.ErrClass
	if res.Code != 0 {
		last = strconv.Itoa(res.Code)
	}
	res.Code, res.ErrClass = 0, ClassCanceled
	res.Err = "the run stopped before a retry (last attempt: " + last + ")"
	return res
}
