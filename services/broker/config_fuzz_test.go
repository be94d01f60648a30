package main

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseFlags: the broker's command line (one argument a line) is
// refused, or gives a configuration start can use as it is.
func FuzzParseFlags(f *testing.F) {
	for _, s := range []string{"--listen\n127.0.0.1:9092", "--listen\n127.0.0.1:0", "", "--listen\n127.0.0.1",
		"--listen\n127.0.0.1:9092\n--advertise\n127.0.0.1:0", "--listen\n127.0.0.1:9092\n--advertise\nh:99999",
		"--listen\n127.0.0.1:9092\n--partitions\n0", "--listen\n127.0.0.1:9092\n--retention\n-1s",
		"--listen\n127.0.0.1:9092\n--log-level\nloud", "--listen\n127.0.0.1:9092\nextra",
		"--listen\n0.0.0.0:9092\n--advertise\ntoxiproxy:15504\n--data-dir\n/d\n--partitions\n6\n--topics\na, b,,c\n--retention-check\n250ms\n--retention\n1m\n--auto-create=false",
		"--listen\n:9092\n--topics\n,", "--listen\n127.0.0.1:+9092", "--listen\n127.0.0.1:-0", "--listen\n127.0.0.1:9092\n--partitions\n-1",
		"--listen\n127.0.0.1:9092\n--group-min-session-timeout\n-1ns", "-h", "--listen\n[::1]:9092\n--advertise\n[::1]:9092",
		"--listen\n127.0.0.1:9092\n--partitions\n2147483648", // was accepted: wraps to a negative int32 in start
		"--listen\n127.0.0.1:9092\n--partitions\n100000000",  // was accepted: kfake would make them all
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseFlags(strings.Split(line, "\n"), io.Discard)
		if err != nil {
			return
		}
		addrs := []string{c.listen}
		if c.advertise != "" {
			addrs = append(addrs, c.advertise)
		}
		for _, a := range addrs {
			_, p, err := net.SplitHostPort(a)
			if n, perr := strconv.Atoi(p); err != nil || perr != nil || n < 0 || n > 65535 {
				t.Fatalf("%q: accepted address %q", line, a)
			}
		}
		// kfake makes every partition of a topic at once
		if c.partitions < 1 || c.partitions > maxPartitions {
			t.Fatalf("%q: accepted %d partitions", line, c.partitions)
		}
		if c.retentionCheck < 0 || c.retention < 0 || c.groupMinSession < 0 {
			t.Fatalf("%q: accepted a negative duration: %+v", line, c)
		}
		for _, tp := range c.topics {
			if tp == "" || tp != strings.TrimSpace(tp) || strings.Contains(tp, ",") {
				t.Fatalf("%q: accepted topic %q", line, tp)
			}
		}
	})
}
