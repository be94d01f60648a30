package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestPolicyValidate(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name    string
		p       Policy
		wantErr []string // substrings; none = valid
	}{
		{name: "zero value", p: Policy{}},
		{name: "immediate", p: Policy{Retry: RetryImmediate, MaxAttempts: 3}},
		{name: "backoff", p: Policy{Retry: RetryBackoff, MaxAttempts: 4, BaseBackoff: 10 * ms, MaxBackoff: time.Second, Jitter: true, RetryBudget: 0.1}},
		{name: "MaxAttempts ignored without retries", p: Policy{MaxAttempts: 3}},
		{name: "negative timeout", p: Policy{Timeout: -ms}, wantErr: []string{"Timeout is negative"}},
		{name: "negative deadline", p: Policy{Deadline: -ms}, wantErr: []string{"Deadline is negative"}},
		{name: "retries without attempts", p: Policy{Retry: RetryImmediate}, wantErr: []string{"MaxAttempts >= 1"}},
		{name: "negative attempts", p: Policy{MaxAttempts: -1}, wantErr: []string{"MaxAttempts is negative"}},
		{name: "backoff without base", p: Policy{Retry: RetryBackoff, MaxAttempts: 2}, wantErr: []string{"BaseBackoff > 0"}},
		{name: "cap below base", p: Policy{Retry: RetryBackoff, MaxAttempts: 2, BaseBackoff: time.Second, MaxBackoff: ms}, wantErr: []string{"below BaseBackoff"}},
		{name: "unknown mode", p: Policy{Retry: RetryMode(7)}, wantErr: []string{"unknown Retry mode"}},
		{name: "negative budget", p: Policy{RetryBudget: -0.1}, wantErr: []string{"RetryBudget"}},
		{name: "several at once", p: Policy{Timeout: -1, BaseBackoff: -1}, wantErr: []string{"Timeout", "BaseBackoff"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestPolicyBackoff(t *testing.T) {
	ms := time.Millisecond
	exp := Policy{Retry: RetryBackoff, MaxAttempts: 10, BaseBackoff: 10 * ms, MaxBackoff: 50 * ms}
	honour := exp
	honour.HonourRetryAfter = true
	tests := []struct {
		name       string
		p          Policy
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{"immediate", Policy{Retry: RetryImmediate, MaxAttempts: 3}, 1, 0, 0},
		{"immediate ignores Retry-After", Policy{Retry: RetryImmediate, MaxAttempts: 3}, 1, time.Second, 0},
		{"immediate honours Retry-After", Policy{Retry: RetryImmediate, MaxAttempts: 3, HonourRetryAfter: true}, 1, time.Second, time.Second},
		{"first backoff", exp, 1, 0, 10 * ms},
		{"doubles", exp, 2, 0, 20 * ms},
		{"doubles again", exp, 3, 0, 40 * ms},
		{"capped", exp, 4, 0, 50 * ms},
		{"capped far out", exp, 200, 0, 50 * ms},
		{"uncapped", Policy{Retry: RetryBackoff, MaxAttempts: 10, BaseBackoff: ms}, 5, 0, 16 * ms},
		{"uncapped stops doubling before overflow", Policy{Retry: RetryBackoff, MaxAttempts: 10, BaseBackoff: ms}, 500, 0, ms << 43},
		{"Retry-After is a lower bound", honour, 1, time.Second, time.Second},
		{"longer backoff wins", honour, 3, 5 * ms, 40 * ms},
	}
	for _, tc := range tests {
		if got := tc.p.backoff(tc.attempt, tc.retryAfter); got != tc.want {
			t.Errorf("%s: backoff(%d, %v) = %v, want %v", tc.name, tc.attempt, tc.retryAfter, got, tc.want)
		}
	}
}

func TestPolicyJitterSpreadsRetryAfter(t *testing.T) {
	p := Policy{Retry: RetryBackoff, MaxAttempts: 3, BaseBackoff: time.Millisecond, Jitter: true, HonourRetryAfter: true}
	seen := map[time.Duration]bool{}
	for range 200 {
		d := p.backoff(1, time.Second)
		if d < time.Second || d > 1500*time.Millisecond {
			t.Fatalf("backoff %v outside [1s, 1.5s]", d)
		}
		seen[d.Truncate(100*time.Millisecond)] = true
	}
	if len(seen) < 4 {
		t.Fatalf("200 jittered waits fell into only %d of the five 100ms slots: not spread", len(seen))
	}
}

func TestPolicyFullJitterStaysInRange(t *testing.T) {
	p := Policy{Retry: RetryBackoff, MaxAttempts: 5, BaseBackoff: time.Millisecond, MaxBackoff: 8 * time.Millisecond, Jitter: true}
	for attempt := 1; attempt <= 5; attempt++ {
		ceiling := min(time.Millisecond<<(attempt-1), 8*time.Millisecond)
		for range 200 {
			if d := p.backoff(attempt, 0); d < 0 || d > ceiling {
				t.Fatalf("attempt %d: jittered backoff %v outside [0, %v]", attempt, d, ceiling)
			}
		}
	}
}
