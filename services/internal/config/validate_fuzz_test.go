package config

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// FuzzHostPort: an address flag is refused with a message naming the flag,
// or accepted with a host (when one is needed) and a port in 1..65535.
func FuzzHostPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:6379", "localhost:1", "127.0.0.1", ":6379", ":8080", "127.0.0.1:0",
		"h:abc", "h:0", "h:70000", "[::1]:80", "[::1", "::1:80", "h:+80", "h:-1", "h: 80", "h:", "", ":", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, listen := range []bool{false, true} {
			check := HostPort
			if listen {
				check = ListenAddr
			}
			if err := check("--addr", v); err != nil {
				if !strings.HasPrefix(err.Error(), "--addr ") {
					t.Fatalf("%q: error %q does not start with the flag's name", v, err)
				}
				continue
			}
			host, port, err := net.SplitHostPort(v)
			n, perr := strconv.Atoi(port)
			if err != nil || perr != nil || n < 1 || n > 65535 || (host == "" && !listen) {
				t.Fatalf("listen=%v accepted %q (host %q, port %q)", listen, v, host, port)
			}
		}
	})
}
