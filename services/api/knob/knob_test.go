package knob

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      map[string]string
		want    Values
		wantErr string
	}{
		{name: "two knobs", in: map[string]string{"breaker_cooldown": "3s", "query_cost": "20ms"},
			want: Values{"breaker_cooldown": 3 * time.Second, "query_cost": 20 * time.Millisecond}},
		{name: "zero cost allowed", in: map[string]string{"query_cost": "0s"}, want: Values{"query_cost": 0}},
		{name: "empty", in: map[string]string{}, wantErr: "no settings given; valid names: breaker_cooldown, breaker_slow_call, checkout_hold, db_acquire_timeout"},
		{name: "unknown", in: map[string]string{"cooldown": "3s"}, wantErr: `unknown setting "cooldown"; valid names:`},
		{name: "not a duration", in: map[string]string{"query_cost": "fast"}, wantErr: `query_cost "fast": want a duration`},
		{name: "out of range", in: map[string]string{"breaker_cooldown": "0s"}, wantErr: "breaker_cooldown 0s: must be in 1ms..1h0m0s"},
		{name: "retry_after whole", in: map[string]string{"retry_after": "2500ms"}, wantErr: "retry_after 2.5s: must be a whole number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("Parse = %v, %v; want %v", got, err, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("%s = %v, want %v", k, got[k], v)
				}
			}
		})
	}
}
