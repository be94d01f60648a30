package main

import (
	"strings"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/services/api/knob"
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

// The DB limits are the configured SLO knobs and follow db_timeouts; the
// query cost (the work's own price) moves none of them.
func TestLimitsAreConfiguredNotDerivedFromCost(t *testing.T) {
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
	ms := time.Millisecond
	for _, tc := range []struct {
		timeouts      bool
		set           map[string]string
		acquire, stmt time.Duration
		home, connect time.Duration
	}{
		{false, map[string]string{"query_cost": "20ms"}, 0, 0, 0, 0},
		{true, map[string]string{"query_cost": "20ms"}, 40 * ms, 200 * ms, 300 * ms, time.Second},
		{true, map[string]string{"query_cost": "1s", "rebuild_cost": "2s"}, 40 * ms, 200 * ms, 300 * ms, time.Second},
		{true, map[string]string{"db_acquire_timeout": "5ms", "db_statement_timeout": "2s", "home_statement_timeout": "3s"}, 5 * ms, 2 * time.Second, 3 * time.Second, time.Second},
	} {
		if err := a.prot.Apply(map[string]bool{protDBTimeouts: tc.timeouts}); err != nil {
			t.Fatal(err)
		}
		kv, err := knob.Parse(tc.set)
		if err != nil {
			t.Fatal(err)
		}
		a.applySettings(kv)
		lim, home := a.limits(), a.rebuildLimits()
		if lim.Acquire != tc.acquire || lim.Statement != tc.stmt || home.Statement != tc.home || a.dbConnectTimeout() != tc.connect {
			t.Fatalf("timeouts=%v %v: limits %+v, rebuild %+v, connect %v", tc.timeouts, tc.set, lim, home, a.dbConnectTimeout())
		}
	}
}
