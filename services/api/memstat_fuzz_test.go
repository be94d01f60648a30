package main

import (
	"strings"
	"testing"
)

// FuzzCgroupMemFiles: any /proc/self/cgroup gives usage and limit file
// pairs of one cgroup version, or none.
func FuzzCgroupMemFiles(f *testing.F) {
	for _, s := range []string{"4:memory:/whatif-1-app0\n0::/\n", "5:cpu,memory:/x\n", "0::/docker/abc\n", "0::/\n", "",
		"0::\n", "::\n", "memory\n", "1:memory\n", "0::/a\n3:memory:/b\n", "\n\n:::\n", "0::/../../etc\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, cg []byte) {
		for _, c := range cgroupMemFiles("/r", cg) {
			v1 := strings.HasSuffix(c[0], "/memory.usage_in_bytes") && strings.HasSuffix(c[1], "/memory.limit_in_bytes")
			v2 := strings.HasSuffix(c[0], "/memory.current") && strings.HasSuffix(c[1], "/memory.max")
			if !v1 && !v2 {
				t.Fatalf("%q: candidate %q", cg, c)
			}
		}
	})
}
