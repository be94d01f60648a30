package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startCluster runs a three-master Redis Cluster for the test (nodes
// announce their own addresses: no proxies here) and returns the api's
// --redis-cluster value and each node's client.
func startCluster(t *testing.T, e *env) (string, map[string]*redis.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var seeds []string
	nodes := map[string]*redis.Client{}
	var ports []int
	for i := range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if port+10000 > 65535 {
			t.Fatalf("port %d: no room for its cluster bus", port)
		}
		dir := t.TempDir()
		p, err := startProc(fmt.Sprintf("rc%d", i), nil, redisBin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--save", "", "--appendonly", "no", "--dir", dir, "--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--cluster-node-timeout", "2000")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.stop)
		name, addr := fmt.Sprintf("rc%d", i), fmt.Sprintf("127.0.0.1:%d", port)
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		if err := waitFor(startupWait, func() error { return c.Ping(ctx).Err() }); err != nil {
			t.Fatal(err)
		}
		lo, hi := i*16384/3, (i+1)*16384/3-1
		if err := c.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatal(err)
		}
		nodes[name] = c
		ports = append(ports, port)
		seeds = append(seeds, name+"="+addr)
	}
	for _, p := range ports[1:] {
		if err := nodes["rc0"].ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(p)).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range nodes {
		if err := waitFor(startupWait, func() error {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && !strings.Contains(info, "cluster_state:ok") {
				err = fmt.Errorf("cluster not ok yet")
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Join(seeds, ","), nodes
}

func TestProductsHotKey(t *testing.T) {
	e := needEnv(t)
	seeds, _ := startCluster(t, e)
	a := e.startAPI(t, "--redis-cluster", seeds, "--protections", "none", "--hot-key-rate", "5", "--hot-l1-ttl", "1h")

	get := func(id int) reply {
		t.Helper()
		r := do(t, "GET", fmt.Sprintf("%s/products/%d", a.base, id), "")
		if r.code != 200 {
			t.Fatalf("GET /products/%d: %d %s", id, r.code, r.body)
		}
		return r
	}
	if r := get(7); r.hdr.Get("X-Source") != "db" {
		t.Errorf("first read from %q, want db", r.hdr.Get("X-Source"))
	}
	if r := get(7); r.hdr.Get("X-Source") != "redis" {
		t.Errorf("second read from %q, want redis", r.hdr.Get("X-Source"))
	}
	if r := do(t, "GET", a.base+"/products/999999999", ""); r.code != 404 {
		t.Errorf("missing product: %d %s", r.code, r.body)
	}

	// Unprotected: every read of the hot key goes to the one node owning
	// product:1, and the api counts it there.
	owner := ""
	for i := range 3 {
		if lo, hi := i*16384/3, (i+1)*16384/3-1; keySlot("product:1") >= lo && keySlot("product:1") <= hi {
			owner = fmt.Sprintf("rc%d", i)
		}
	}
	s0 := a.stats(t)
	for range 100 {
		get(1)
	}
	s1 := a.stats(t)
	hot := s1.Products.HotRequests - s0.Products.HotRequests
	if hot < 90 || s1.Products.HotRedisReads-s0.Products.HotRedisReads != hot {
		t.Errorf("unprotected: %d hot reads, %d of them Redis reads; want ~all hot, each a Redis read",
			hot, s1.Products.HotRedisReads-s0.Products.HotRedisReads)
	}
	for n, st := range s1.Cluster {
		d := st.Ops - s0.Cluster[n].Ops
		if (n == owner && d < 100) || (n != owner && d != 0) {
			t.Errorf("unprotected: node %s got %d commands (owner of product:1 is %s)", n, d, owner)
		}
	}

	// hot_key_replicas: the copies sit on every master.
	a.protect(t, map[string]bool{"hot_key_replicas": true})
	for range 300 {
		get(1)
	}
	s2 := a.stats(t)
	for _, n := range []string{"rc0", "rc1", "rc2"} {
		if d := s2.Cluster[n].Ops - s1.Cluster[n].Ops; d < 50 {
			t.Errorf("replicas: node %s got %d of 300 hot reads", n, d)
		}
	}

	// hot_key_l1: the in-process copy answers.
	a.protect(t, map[string]bool{"hot_key_l1": true, "hot_key_replicas": true})
	sources := map[string]int{}
	for range 100 {
		sources[get(1).hdr.Get("X-Source")]++
	}
	s3 := a.stats(t)
	if d := s3.Products.HotRedisReads - s2.Products.HotRedisReads; d > 2 || sources["l1"] < 98 {
		t.Errorf("l1: %d Redis reads for 100 hot reads, sources %v", d, sources)
	}
	if s3.Products.HotIDs != "1" && s3.Products.HotIDs != "" {
		t.Errorf("hot ids %q, want 1", s3.Products.HotIDs)
	}
}
