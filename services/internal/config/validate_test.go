package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidators(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		wantErr string // "" = valid
	}{
		{"hostport ok", HostPort("--redis", "127.0.0.1:6379"), ""},
		{"hostport name", HostPort("--redis", "localhost:1"), ""},
		{"hostport no port", HostPort("--redis", "127.0.0.1"), "--redis \"127.0.0.1\": want HOST:PORT"},
		{"hostport empty host", HostPort("--redis", ":6379"), "host is empty"},
		{"listen any host", ListenAddr("--listen", ":8080"), ""},
		{"listen port 0", ListenAddr("--listen", "127.0.0.1:0"), "port must be a number"},
		{"hostport bad port", HostPort("--redis", "h:abc"), "port must be a number"},
		{"hostport port 0", HostPort("--redis", "h:0"), "port must be a number"},
		{"hostport port big", HostPort("--redis", "h:70000"), "port must be a number"},
		{"required ok", Required("--listen", "x"), ""},
		{"required missing", Required("--listen", ""), "--listen is required"},
		{"int ok", IntRange("--db-pool", 4, 1, 1000), ""},
		{"int low", IntRange("--db-pool", 0, 1, 1000), "--db-pool 0: must be in 1..1000"},
		{"int high", IntRange("--db-pool", 1001, 1, 1000), "must be in"},
		{"dur ok", DurationRange("--query-cost", 20*time.Millisecond, 0, time.Second), ""},
		{"dur low", DurationRange("--query-cost", -time.Millisecond, 0, time.Second), "--query-cost -1ms: must be in 0s..1s"},
		{"whole ok", WholeSeconds("--retry-after", 2*time.Second), ""},
		{"whole fraction", WholeSeconds("--retry-after", 1500*time.Millisecond), "whole number of seconds"},
		{"whole zero", WholeSeconds("--retry-after", 0), "whole number of seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantErr == "" {
				if tc.err != nil {
					t.Fatalf("unexpected error %v", tc.err)
				}
				return
			}
			if tc.err == nil || !strings.Contains(tc.err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want containing %q", tc.err, tc.wantErr)
			}
		})
	}
}
