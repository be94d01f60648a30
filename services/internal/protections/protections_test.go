package protections

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func testSet(t *testing.T) *Set {
	t.Helper()
	s, err := New("l1_cache", "db_breaker", "ttl_jitter")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewRejectsBadNames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		names []string
	}{
		{"none", nil},
		{"empty", []string{"a", ""}},
		{"comma", []string{"a,b"}},
		{"duplicate", []string{"a", "b", "a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.names...); err == nil {
				t.Fatalf("New(%q) succeeded", tc.names)
			}
		})
	}
}

func TestParse(t *testing.T) {
	off := map[string]bool{"l1_cache": false, "db_breaker": false, "ttl_jitter": false}
	on := map[string]bool{"l1_cache": true, "db_breaker": true, "ttl_jitter": true}
	for _, tc := range []struct {
		spec    string
		want    map[string]bool
		wantErr string
	}{
		{spec: "all", want: on},
		{spec: " none ", want: off},
		{spec: "l1_cache", want: map[string]bool{"l1_cache": true, "db_breaker": false, "ttl_jitter": false}},
		{spec: "l1_cache, ttl_jitter", want: map[string]bool{"l1_cache": true, "db_breaker": false, "ttl_jitter": true}},
		{spec: "", wantErr: "empty protections"},
		{spec: "l1_cache,,db_breaker", wantErr: "empty name"},
		{spec: "l1_cache,bogus,zzz", wantErr: "unknown protection(s) bogus, zzz; valid names: db_breaker, l1_cache, ttl_jitter"},
		{spec: "ALL", wantErr: "unknown protection(s) ALL"},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			got, err := testSet(t).Parse(tc.spec)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want containing %q", tc.spec, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.spec, err)
			}
			if !maps.Equal(got, tc.want) {
				t.Fatalf("Parse(%q) = %v, want %v", tc.spec, got, tc.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	for _, tc := range []struct {
		name    string
		updates []map[string]bool
		want    map[string]bool
		unknown bool
	}{
		{
			name:    "partial update keeps others",
			updates: []map[string]bool{{"l1_cache": true, "db_breaker": true}, {"db_breaker": false}},
			want:    map[string]bool{"l1_cache": true, "db_breaker": false, "ttl_jitter": false},
		},
		{
			name:    "bad update changes nothing",
			updates: []map[string]bool{{"l1_cache": true}, {"ttl_jitter": true, "nope": true}},
			want:    map[string]bool{"l1_cache": true, "db_breaker": false, "ttl_jitter": false},
			unknown: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSet(t)
			var err error
			for _, u := range tc.updates {
				err = s.Apply(u)
			}
			var ue *UnknownError
			if got := errors.As(err, &ue); got != tc.unknown {
				t.Fatalf("last Apply error = %v, want unknown=%v", err, tc.unknown)
			}
			if got := s.Snapshot(); !maps.Equal(got, tc.want) {
				t.Fatalf("Snapshot = %v, want %v", got, tc.want)
			}
			for n, v := range tc.want {
				if s.On(n) != v {
					t.Fatalf("On(%s) = %v, want %v", n, !v, v)
				}
			}
			if s.On("nope") {
				t.Fatal("unknown name reported on")
			}
		})
	}
}
