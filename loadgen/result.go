package loadgen

import "time"

// Error classes carried in Result.ErrClass. The empty string means success.
const (
	ClassNone     = ""
	ClassTimeout  = "timeout"  // attempt or overall deadline, or a net timeout
	ClassRefused  = "refused"  // connection refused
	ClassReset    = "reset"    // connection reset or broken pipe
	ClassEOF      = "eof"      // connection closed before a full response
	ClassHTTP5xx  = "http5xx"  // server answered 5xx
	ClassHTTP4xx  = "http4xx"  // server answered 4xx
	ClassCanceled = "canceled" // the caller's context was canceled (e.g. Run stopped early)
	ClassOther    = "other"
)

// MaxKeptBody caps Result.Body so that keeping bodies cannot blow up memory.
const MaxKeptBody = 4 << 10

// Result is the outcome of one logical request (possibly several attempts).
// Op.Do fills the response fields for a single attempt; Client.Do adds the
// scheduling fields and the attempt count.
type Result struct {
	Op         string        `json:"op"`
	Seq        uint64        `json:"seq"`
	Scheduled  time.Time     `json:"scheduled"`
	Sent       time.Time     `json:"sent"`
	Latency    time.Duration `json:"latency"` // Scheduled .. end of the last attempt
	Code       int           `json:"code,omitempty"`
	Err        string        `json:"err,omitempty"`
	ErrClass   string        `json:"err_class,omitempty"`
	Key        string        `json:"key,omitempty"`
	Degraded   bool          `json:"degraded,omitempty"` // X-Degraded: 1
	Attempts   int           `json:"attempts"`
	RetryAfter time.Duration `json:"retry_after,omitempty"` // parsed Retry-After of the final attempt
	Body       []byte        `json:"body,omitempty"`
	Expected   bool          `json:"expected,omitempty"` // a non-2xx status the op declared an answer (HTTPOp.Expected)
}

// OK reports a 2xx answer (or one the op expects, HTTPOp.Expected)
// without a transport error; for an op without status codes (Code 0, e.g.
// ProduceOp), no error.
func (r Result) OK() bool {
	return r.Err == "" && (r.Code == 0 || r.Code >= 200 && r.Code < 300 || r.Expected)
}

// retryable reports whether another attempt could help: transient transport
// failures, 5xx and 429. Never 2xx or other 4xx, never a caller cancel.
func (r Result) retryable() bool {
	switch r.ErrClass {
	case ClassTimeout, ClassRefused, ClassReset, ClassEOF, ClassHTTP5xx:
		return true
	}
	return r.Code == 429
}
