package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestClassifyCodesAndErrors(t *testing.T) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	tests := []struct {
		name string
		err  error
		code int
		want string
	}{
		{"200", nil, 200, ClassNone},
		{"204", nil, 204, ClassNone},
		{"304", nil, 304, ClassOther},
		{"404", nil, 404, ClassHTTP4xx},
		{"429", nil, 429, ClassHTTP4xx},
		{"500", nil, 500, ClassHTTP5xx},
		{"503", nil, 503, ClassHTTP5xx},
		{"no code", nil, 0, ClassOther},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), 0, ClassTimeout},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), 0, ClassCanceled},
		{"refused", opErr(syscall.ECONNREFUSED), 0, ClassRefused},
		{"reset", opErr(syscall.ECONNRESET), 0, ClassReset},
		{"broken pipe", opErr(syscall.EPIPE), 0, ClassReset},
		{"eof", fmt.Errorf("get: %w", io.EOF), 0, ClassEOF},
		{"unexpected eof", io.ErrUnexpectedEOF, 0, ClassEOF},
		{"net timeout", &net.DNSError{Err: "slow", IsTimeout: true}, 0, ClassTimeout},
		{"error wins over code", opErr(syscall.ECONNRESET), 200, ClassReset},
		{"other", errors.New("boom"), 0, ClassOther},
	}
	for _, tc := range tests {
		if got := Classify(tc.err, tc.code); got != tc.want {
			t.Errorf("%s: Classify(%v, %d) = %q, want %q", tc.name, tc.err, tc.code, got, tc.want)
		}
	}
}

// rawServer accepts connections, reads one request head and lets misbehave
// end the connection in its own way. It returns the base URL.
func rawServer(t *testing.T, misbehave func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil || line == "\r\n" {
						break
					}
				}
				misbehave(c.(*net.TCPConn))
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

func closedPortURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestClassifyRealFailures checks classification of what a real HTTP client
// reports for real socket failures, not of hand-made errors.
func TestClassifyRealFailures(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	httpSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		case "/degraded":
			w.Header().Set("X-Degraded", "1")
			w.Header().Set("Retry-After", "7")
		case "/busy":
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/missing":
			w.WriteHeader(http.StatusNotFound)
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}
	}))
	t.Cleanup(httpSrv.Close)

	tests := []struct {
		name       string
		url        string
		timeout    time.Duration
		wantClass  string
		wantCode   int
		degraded   bool
		retryAfter time.Duration
	}{
		{name: "ok", url: httpSrv.URL + "/", wantCode: 200},
		{name: "degraded is not an error", url: httpSrv.URL + "/degraded", wantCode: 200, degraded: true, retryAfter: 7 * time.Second},
		{name: "503 with Retry-After", url: httpSrv.URL + "/busy", wantCode: 503, wantClass: ClassHTTP5xx, retryAfter: 3 * time.Second},
		{name: "404", url: httpSrv.URL + "/missing", wantCode: 404, wantClass: ClassHTTP4xx},
		{name: "redirect is not followed", url: httpSrv.URL + "/moved", wantCode: 302, wantClass: ClassOther},
		{name: "timeout", url: httpSrv.URL + "/hang", timeout: 20 * time.Millisecond, wantClass: ClassTimeout},
		{name: "refused", url: closedPortURL(t), wantClass: ClassRefused},
		{name: "reset", url: rawServer(t, func(c *net.TCPConn) { c.SetLinger(0); c.Close() }), wantClass: ClassReset},
		{name: "eof", url: rawServer(t, func(c *net.TCPConn) { c.Close() }), wantClass: ClassEOF},
		{name: "truncated body", url: rawServer(t, func(c *net.TCPConn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
			c.Close()
		}), wantCode: 200, wantClass: ClassEOF},
	}
	client := NewHTTPClient(4)
	t.Cleanup(client.CloseIdleConnections)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			op := &HTTPOp{OpName: "get", Client: client, URL: func(uint64) (string, string) { return tc.url, "k" }}
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			r := op.Do(ctx, 1)
			if r.ErrClass != tc.wantClass || r.Code != tc.wantCode {
				t.Fatalf("got class %q code %d (err %q), want class %q code %d", r.ErrClass, r.Code, r.Err, tc.wantClass, tc.wantCode)
			}
			if r.Degraded != tc.degraded || r.RetryAfter != tc.retryAfter {
				t.Errorf("degraded=%v retryAfter=%v, want %v %v", r.Degraded, r.RetryAfter, tc.degraded, tc.retryAfter)
			}
			if r.OK() != (tc.wantClass == ClassNone) {
				t.Errorf("OK() = %v for class %q", r.OK(), r.ErrClass)
			}
			if r.Key != "k" || r.Op != "get" || r.Seq != 1 {
				t.Errorf("identity not filled: %+v", r)
			}
		})
	}
}

func TestHTTPOpSendsKeyedRequestAndKeepsCappedBody(t *testing.T) {
	big := make([]byte, 3*MaxKeptBody)
	for i := range big {
		big[i] = 'x'
	}
	type seen struct {
		method, path, idem, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.Path, r.Header.Get("Idempotency-Key"), string(b)}
		w.Write(big)
	}))
	defer srv.Close()
	client := NewHTTPClient(1)
	defer client.CloseIdleConnections()
	tests := []struct {
		keep     bool
		wantBody int
	}{{false, 0}, {true, MaxKeptBody}}
	for _, tc := range tests {
		op := &HTTPOp{
			OpName:   "pay",
			Method:   http.MethodPost,
			Client:   client,
			KeepBody: tc.keep,
			URL: func(seq uint64) (string, string) {
				return fmt.Sprintf("%s/pay/%d", srv.URL, seq), fmt.Sprintf("key-%d", seq)
			},
			Body:   func(seq uint64, key string) []byte { return []byte("amount=1&key=" + key) },
			Header: func(seq uint64, key string) http.Header { return http.Header{"Idempotency-Key": {key}} },
		}
		r := op.Do(context.Background(), 42)
		if !r.OK() || len(r.Body) != tc.wantBody {
			t.Fatalf("keep=%v: OK=%v body %d bytes, want %d (err %q)", tc.keep, r.OK(), len(r.Body), tc.wantBody, r.Err)
		}
		want := seen{"POST", "/pay/42", "key-42", "amount=1&key=key-42"}
		if s := <-got; s != want {
			t.Errorf("server saw %+v, want %+v", s, want)
		}
	}
}

func TestHTTPOpValidate(t *testing.T) {
	url := func(uint64) (string, string) { return "http://x", "" }
	tests := []struct {
		op      HTTPOp
		wantErr bool
	}{
		{HTTPOp{OpName: "a", URL: url, Client: http.DefaultClient}, false},
		{HTTPOp{URL: url, Client: http.DefaultClient}, true},
		{HTTPOp{OpName: "a", Client: http.DefaultClient}, true},
		{HTTPOp{OpName: "a", URL: url}, true},
	}
	for i, tc := range tests {
		if err := tc.op.Validate(); (err != nil) != tc.wantErr {
			t.Errorf("case %d: Validate() = %v, wantErr %v", i, err, tc.wantErr)
		}
	}
}
