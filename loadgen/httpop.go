package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"slices"
	"time"
)

// HTTPOp is an Op that sends one HTTP request per attempt.
type HTTPOp struct {
	OpName string
	Method string // "" means GET
	// URL returns the request URL and the op-defined key for logical request seq.
	URL func(seq uint64) (url, key string)
	// Body and Header are optional; they get the key so that e.g. an
	// Idempotency-Key header is identical on every retry.
	Body     func(seq uint64, key string) []byte
	Header   func(seq uint64, key string) http.Header
	KeepBody bool // keep up to MaxKeptBody bytes of the final response body
	// Expected are non-2xx statuses that answer the request as the op
	// means it (a seat checkout that finds the seat taken: 409): they count
	// as answered, not as errors, and are never retried.
	Expected []int
	// Client is shared by all requests; build it with NewHTTPClient so that
	// its connections are bounded like the worker pool.
	Client *http.Client
}

// Name implements Op.
func (o *HTTPOp) Name() string { return o.OpName }

// Validate reports a configuration that could not send any request.
func (o *HTTPOp) Validate() error {
	switch {
	case o.OpName == "":
		return errors.New("loadgen: HTTPOp needs an OpName")
	case o.URL == nil:
		return errors.New("loadgen: HTTPOp " + o.OpName + " needs a URL func")
	case o.Client == nil:
		return errors.New("loadgen: HTTPOp " + o.OpName + " needs a Client")
	}
	return nil
}

// Do implements Op: one attempt, bounded by ctx.
func (o *HTTPOp) Do(ctx context.Context, seq uint64) Result {
	url, key := o.URL(seq)
	res := Result{Op: o.OpName, Seq: seq, Key: key}
	var body io.Reader
	if o.Body != nil {
		if b := o.Body(seq, key); b != nil {
			body = bytes.NewReader(b)
		}
	}
	method := o.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return res.failed(err)
	}
	if o.Header != nil {
		for k, vs := range o.Header(seq, key) {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	resp, err := o.Client.Do(req)
	if err != nil {
		return res.failed(err)
	}
	defer resp.Body.Close()
	res.Code = resp.StatusCode
	res.Degraded = resp.Header.Get("X-Degraded") == "1"
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		res.RetryAfter = d
	}
	if o.KeepBody {
		if res.Body, err = io.ReadAll(io.LimitReader(resp.Body, MaxKeptBody)); err != nil {
			return res.failed(err)
		}
	}
	// Read the whole body: the request is not complete before that, and a
	// drained body lets the connection be reused.
	if _, err = io.Copy(io.Discard, resp.Body); err != nil {
		return res.failed(err)
	}
	if slices.Contains(o.Expected, res.Code) {
		res.Expected = true
		return res
	}
	res.ErrClass = Classify(nil, res.Code)
	return res
}

func (r Result) failed(err error) Result {
	r.Err = err.Error()
	r.ErrClass = Classify(err, 0)
	return r
}

// NewHTTPClient returns a client whose transport holds at most maxConns
// connections per host (busy and idle alike), matching a worker pool of
// maxConns so that no request waits for a connection behind the pool's back.
// It ignores proxy settings from the environment (the testbed talks to
// loopback) and does not follow redirects (a 3xx is reported as is).
// Timeouts come from the per-attempt context, not from the client.
func NewHTTPClient(maxConns int) *http.Client {
	if maxConns < 1 {
		maxConns = 1
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        maxConns,
			MaxIdleConnsPerHost: maxConns,
			MaxConnsPerHost:     maxConns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
