package main

import "testing"

// FuzzDecodeHome: whatever Redis holds under "home" is refused, or is an
// entry with a non-negative rebuild time that encodes back to itself.
func FuzzDecodeHome(f *testing.F) {
	for _, s := range []string{"100:page", "", "x", "12", "-5:page", "abc:page", "0:", "+1:x", "1:a:b", ":page",
		"9223372036854775807:x", "9223372036854775:x", "9223372036854776:x", "99999999999999999999:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := decodeHome(s)
		if err != nil {
			return
		}
		if e.delta < 0 {
			t.Fatalf("%q: negative rebuild time %v", s, e.delta)
		}
		if again, err := decodeHome(e.encode()); err != nil || again != e {
			t.Fatalf("%q: decoded %+v, encoded %q, decoded again %+v, %v", s, e, e.encode(), again, err)
		}
	})
}
