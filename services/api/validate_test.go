package main

import (
	"strings"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestParseID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1", 1, true},
		{"100000", 100000, true},
		{"0", 0, false},
		{"-3", 0, false},
		{"abc", 0, false},
		{"1.5", 0, false},
		{"", 0, false},
		{"99999999999999999999", 0, false},
	} {
		got, err := parseID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Fatalf("parseID(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestValidateOrder(t *testing.T) {
	for _, tc := range []struct {
		name        string
		req         orderRequest
		key         string
		keyRequired bool
		wantErr     string
	}{
		{name: "ok", req: orderRequest{ptr[int64](7), ptr(2)}, key: "k-1", keyRequired: true},
		{name: "ok without key when off", req: orderRequest{ptr[int64](7), ptr(2)}},
		{name: "missing item", req: orderRequest{nil, ptr(1)}, wantErr: "item_id is required"},
		{name: "zero item", req: orderRequest{ptr[int64](0), ptr(1)}, wantErr: "item_id 0: must be a positive integer"},
		{name: "missing qty", req: orderRequest{ptr[int64](1), nil}, wantErr: "qty is required"},
		{name: "zero qty", req: orderRequest{ptr[int64](1), ptr(0)}, wantErr: "qty 0: must be in 1..1000"},
		{name: "huge qty", req: orderRequest{ptr[int64](1), ptr(1001)}, wantErr: "qty 1001"},
		{name: "key required", req: orderRequest{ptr[int64](1), ptr(1)}, keyRequired: true, wantErr: "Idempotency-Key header is required"},
		{name: "key too long", req: orderRequest{ptr[int64](1), ptr(1)}, key: strings.Repeat("k", 201), wantErr: "longer than 200"},
		{name: "key with space", req: orderRequest{ptr[int64](1), ptr(1)}, key: "a b", wantErr: "printable ASCII"},
		{name: "key non-ascii", req: orderRequest{ptr[int64](1), ptr(1)}, key: "clé", wantErr: "printable ASCII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := validateOrder(tc.req, tc.key, tc.keyRequired)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || o.itemID != *tc.req.ItemID || o.qty != *tc.req.Qty || o.key != tc.key {
				t.Fatalf("validateOrder = %+v, %v", o, err)
			}
		})
	}
}

func TestParseRecentN(t *testing.T) {
	for _, tc := range []struct {
		in      string
		present bool
		want    int
		ok      bool
	}{
		{"", false, 10, true},
		{"1", true, 1, true},
		{"100", true, 100, true},
		{"0", true, 0, false},
		{"101", true, 0, false},
		{"", true, 0, false},
		{"ten", true, 0, false},
	} {
		got, err := parseRecentN(tc.in, tc.present)
		if (err == nil) != tc.ok || got != tc.want {
			t.Fatalf("parseRecentN(%q, %v) = %d, %v; want %d ok=%v", tc.in, tc.present, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      map[string]string
		want    knobValues
		wantErr string
	}{
		{name: "two knobs", in: map[string]string{"breaker_cooldown": "3s", "query_cost": "20ms"},
			want: knobValues{"breaker_cooldown": 3 * time.Second, "query_cost": 20 * time.Millisecond}},
		{name: "zero cost allowed", in: map[string]string{"query_cost": "0s"}, want: knobValues{"query_cost": 0}},
		{name: "empty", in: map[string]string{}, wantErr: "no settings given; valid names: breaker_cooldown, checkout_hold, home_ttl"},
		{name: "unknown", in: map[string]string{"cooldown": "3s"}, wantErr: `unknown setting "cooldown"; valid names:`},
		{name: "not a duration", in: map[string]string{"query_cost": "fast"}, wantErr: `query_cost "fast": want a duration`},
		{name: "out of range", in: map[string]string{"breaker_cooldown": "0s"}, wantErr: "breaker_cooldown 0s: must be in 1ms..1h0m0s"},
		{name: "retry_after whole", in: map[string]string{"retry_after": "2500ms"}, wantErr: "retry_after 2.5s: must be a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSettings(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("parseSettings = %v, %v; want %v", got, err, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestLimitsFollowSwitchAndCost(t *testing.T) {
	f, err := parseFlags([]string{"--listen", "127.0.0.1:1", "--redis", "127.0.0.1:2",
		"--pg-primary", "postgres://postgres@127.0.0.1:3/postgres", "--protections", "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(f)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	for _, tc := range []struct {
		timeouts          bool
		cost              string
		acquire, stmt     time.Duration
		connect, slowCall time.Duration
	}{
		{false, "20ms", 0, 0, 0, 100 * time.Millisecond},
		{true, "20ms", 40 * time.Millisecond, 200 * time.Millisecond, time.Second, 100 * time.Millisecond},
		{true, "1ms", 10 * time.Millisecond, 100 * time.Millisecond, time.Second, 25 * time.Millisecond},
		{true, "0s", 10 * time.Millisecond, 100 * time.Millisecond, time.Second, 25 * time.Millisecond},
	} {
		if err := a.prot.Apply(map[string]bool{protDBTimeouts: tc.timeouts}); err != nil {
			t.Fatal(err)
		}
		kv, err := parseSettings(map[string]string{"query_cost": tc.cost})
		if err != nil {
			t.Fatal(err)
		}
		a.applySettings(kv)
		lim := a.limits()
		if lim.Acquire != tc.acquire || lim.Statement != tc.stmt || a.dbConnectTimeout() != tc.connect {
			t.Fatalf("timeouts=%v cost=%s: limits %+v connect %v", tc.timeouts, tc.cost, lim, a.dbConnectTimeout())
		}
		if got := slowCall(a.settings.get("query_cost")); got != tc.slowCall {
			t.Fatalf("slow call %v, want %v", got, tc.slowCall)
		}
	}
}
