package main

import (
	"io"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/services/internal/config"
)

// FuzzParseFlags: the api's command line (one argument a line) is refused,
// or gives a configuration whose addresses can be dialled.
func FuzzParseFlags(f *testing.F) {
	base := "--listen\n127.0.0.1:8080\n--redis\n127.0.0.1:6379\n--pg-primary\npostgres://postgres@127.0.0.1:5432/postgres?sslmode=disable\n"
	for _, s := range []string{"", "--listen\n8080", "--broker\nkafka", "--pg-replica\npostgres://x:y@h:notaport/db",
		"--pgbouncer\nhost=a port=b", "--db-pool\n0", "--db-pool\nfour", "--query-cost\n-5ms", "--query-cost\n20",
		"--l1-ttl\n0s", "--retry-after\n500ms", "--protections\nl1_cache,magic", "--protections\n",
		"--shed-wait-low\n2s\n--shed-wait-high\n1s", "--shed-wait-low\n-1s", "--checkout-slots\n0", "--client-rate\n0",
		"--client-rate\nNaN", "--client-rate\n+Inf", "--report-pool\n0", "--checkout-conns\n0", "--rebuild-cost\n-1s",
		"--nope\n1", "extra", "--checkout-workers\n2", "--export-cap\n1023", "--export-cache\n-1", "-h", "--help",
		"--redis-cluster\nrc0=127.0.0.1:7000,rc1=127.0.0.1:7001", "--redis-cluster\nrc0=127.0.0.1:7000,rc0=127.0.0.1:7001",
		"--redis-cluster\nrc.0=h:1", "--redis-cluster\n=h:1", "--redis-cluster\nrc0", "--redis-cluster\n,",
		"--hot-key-copies\n0", "--startup-timeout\n1ns", "--query-cost=5ms", "-listen=:1",
		"--redis-cluster\n0=0:", // was accepted: a node without a port
	} {
		f.Add(base + s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		fl, err := parseFlags(strings.Split(line, "\n"), io.Discard)
		if err != nil {
			return
		}
		if fl.redisCluster != "" {
			seeds, err := parseClusterSeeds(fl.redisCluster)
			if err != nil {
				t.Fatalf("%q: accepted, but the cluster does not parse: %v", line, err)
			}
			for _, s := range seeds {
				if err := config.HostPort("--redis-cluster", s.addr); err != nil {
					t.Fatalf("%q: accepted cluster node %s: %v", line, s.name, err)
				}
			}
		}
	})
}
