package protections

import (
	"slices"
	"strings"
	"testing"
)

// FuzzParse: a --protections spec is refused, or gives every protection a
// value and turns on exactly the names it lists.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"all", " none ", "none", "l1_cache", "l1_cache, ttl_jitter", "", "l1_cache,,db_breaker",
		"l1_cache,bogus,zzz", "ALL", ",", " , ", "l1_cache,l1_cache", "\tl1_cache\n", "all,none", "l1_cache\x00"} {
		f.Add(s)
	}
	s, err := New("l1_cache", "db_breaker", "ttl_jitter")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		got, err := s.Parse(spec)
		if err != nil {
			return
		}
		if len(got) != len(s.Names()) {
			t.Fatalf("Parse(%q) = %v: not every protection", spec, got)
		}
		trimmed := strings.TrimSpace(spec)
		var listed []string
		for _, p := range strings.Split(trimmed, ",") {
			listed = append(listed, strings.TrimSpace(p))
		}
		for n, on := range got {
			if !slices.Contains(s.Names(), n) {
				t.Fatalf("Parse(%q) invented %q", spec, n)
			}
			want := trimmed == "all" || (trimmed != "none" && slices.Contains(listed, n))
			if on != want {
				t.Fatalf("Parse(%q): %s = %v, want %v", spec, n, on, want)
			}
		}
	})
}
