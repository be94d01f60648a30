package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/whatif-lab/whatif/services/internal/db"
)

var (
	envOnce sync.Once
	testEnv *env
	envErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	stopAll()
	if testEnv != nil {
		os.RemoveAll(testEnv.dir)
	}
	os.Exit(code)
}

// needEnv starts Postgres, Redis and builds the api on first use, so unit
// tests alone pay nothing.
func needEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped in -short mode")
	}
	for _, bin := range []string{pgBin + "/initdb", pgBin + "/postgres", redisBin} {
		if _, err := os.Stat(bin); err != nil {
			t.Skipf("integration test needs %s (Debian postgresql-15 and redis-server): %v", bin, err)
		}
	}
	envOnce.Do(func() { testEnv, envErr = setupEnv() })
	if envErr != nil {
		t.Fatalf("test environment: %v", envErr)
	}
	return testEnv
}

var client = &http.Client{
	Timeout:   10 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 128, MaxConnsPerHost: 256},
}

type reply struct {
	code int
	hdr  http.Header
	body []byte
	took time.Duration
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func do(t *testing.T, method, url, body string, hdr ...string) reply {
	t.Helper()
	r, err := doErr(client, method, url, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return r
}

func doErr(c *http.Client, method, url, body string, hdr ...string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{}, err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{code: resp.StatusCode, hdr: resp.Header, body: b, took: time.Since(start)}, err
}

func (a *api) item(t *testing.T, id int) reply {
	t.Helper()
	return do(t, "GET", fmt.Sprintf("%s/items/%d", a.base, id), "")
}

func (a *api) stats(t *testing.T) statsJSON {
	t.Helper()
	r := do(t, "GET", a.base+"/admin/stats", "")
	var s statsJSON
	if r.code != 200 {
		t.Fatalf("stats: %d %s", r.code, r.body)
	}
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func (a *api) protect(t *testing.T, m map[string]bool) {
	t.Helper()
	b, _ := json.Marshal(m)
	if r := do(t, "PUT", a.base+"/admin/protections", string(b)); r.code != 200 {
		t.Fatalf("set protections: %d %s", r.code, r.body)
	}
}

func (e *env) rdb(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: e.redisAddr()})
	t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) flushRedis(t *testing.T) {
	t.Helper()
	if err := e.rdb(t).FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) countOrders(t *testing.T, key string) int {
	t.Helper()
	return e.count(t, `SELECT count(*) FROM orders WHERE client_key = $1`, key)
}

// withConn runs f on a fresh connection to the test database; an error
// fails the test.
func (e *env) withConn(t *testing.T, f func(ctx context.Context, c *pgx.Conn) error) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, e.dsn())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := f(ctx, c); err != nil {
		t.Fatal(err)
	}
}

// count runs a SELECT count(*) on the test database.
func (e *env) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	e.withConn(t, func(ctx context.Context, c *pgx.Conn) error { return c.QueryRow(ctx, query, args...).Scan(&n) })
	return n
}

// exec runs one statement on the test database.
func (e *env) exec(t *testing.T, sql string) {
	t.Helper()
	e.withConn(t, func(ctx context.Context, c *pgx.Conn) error { _, err := c.Exec(ctx, sql); return err })
}

func wantSource(t *testing.T, r reply, code int, source string) {
	t.Helper()
	if r.code != code || r.hdr.Get("X-Source") != source {
		t.Fatalf("got %d X-Source=%q %s; want %d from %s", r.code, r.hdr.Get("X-Source"), r.body, code, source)
	}
	if code == 200 && source != "degraded" {
		if m := r.json(t); m["source"] != source || !strings.HasPrefix(fmt.Sprint(m["payload"]), "item-") {
			t.Fatalf("body %s", r.body)
		}
	}
}

func TestReadPathSources(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	a := e.startAPI(t, "--protections", "none", "--l1-ttl", "1m")
	before := a.stats(t)

	wantSource(t, a.item(t, 42), 200, "db")
	wantSource(t, a.item(t, 42), 200, "redis")
	a.protect(t, map[string]bool{protL1Cache: true})
	wantSource(t, a.item(t, 42), 200, "redis") // L1 miss, filled from Redis
	wantSource(t, a.item(t, 42), 200, "l1")

	after := a.stats(t)
	for name, got := range map[string]int64{
		"db_queries.primary": after.DBQueries["primary"] - before.DBQueries["primary"],
		"redis_misses":       after.Cache.RedisMisses - before.Cache.RedisMisses,
		"redis_hits":         after.Cache.RedisHits - before.Cache.RedisHits,
		"l1_misses":          after.Cache.L1Misses - before.Cache.L1Misses,
		"l1_hits":            after.Cache.L1Hits - before.Cache.L1Hits,
	} {
		want := map[string]int64{"db_queries.primary": 1, "redis_misses": 1, "redis_hits": 2, "l1_misses": 1, "l1_hits": 1}[name]
		if got != want {
			t.Errorf("%s moved by %d, want %d", name, got, want)
		}
	}
	if after.L1Entries != 1 {
		t.Errorf("l1_entries %d, want 1", after.L1Entries)
	}

	if r := a.item(t, testItems+1000); r.code != 404 || !strings.Contains(string(r.body), "not found") {
		t.Fatalf("unknown id: %d %s", r.code, r.body)
	}
	for _, bad := range []string{"abc", "0", "-1", "1.5", "99999999999999999999"} {
		r := do(t, "GET", a.base+"/items/"+bad, "")
		if r.code != 400 || !strings.Contains(string(r.body), "positive integer") {
			t.Fatalf("GET /items/%s: %d %s", bad, r.code, r.body)
		}
	}
}

func TestRedisDownFallsThroughToDB(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	a := e.startAPI(t, "--protections", "none")
	wantSource(t, a.item(t, 10), 200, "db")
	wantSource(t, a.item(t, 10), 200, "redis")

	e.redis.kill()
	t.Cleanup(func() {
		if err := e.startRedis(); err != nil {
			t.Errorf("restart redis: %v", err)
		}
	})
	before := a.stats(t)
	for id := 10; id < 30; id++ {
		r := a.item(t, id)
		wantSource(t, r, 200, "db")
		// query cost 20ms; the Redis failure itself must add next to nothing
		if r.took > 200*time.Millisecond {
			t.Errorf("read with Redis down took %v", r.took)
		}
	}
	after := a.stats(t)
	if d := after.Cache.RedisErrors - before.Cache.RedisErrors; d != 20 {
		t.Errorf("redis_errors moved by %d, want 20", d)
	}
	if d := after.DBQueries["primary"] - before.DBQueries["primary"]; d != 20 {
		t.Errorf("db_queries moved by %d, want 20", d)
	}

	// Redis comes back (cold): the api reconnects by itself.
	if err := e.startRedis(); err != nil {
		t.Fatal(err)
	}
	err := waitFor(5*time.Second, func() error {
		if r := a.item(t, 11); r.hdr.Get("X-Source") != "redis" {
			return fmt.Errorf("source %s", r.hdr.Get("X-Source"))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("api did not use Redis again: %v", err)
	}
}

func TestBreakerOpensWhenDBStops(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	a := e.startAPI(t, "--protections", "db_breaker,db_timeouts,l1_cache",
		"--breaker-cooldown", "1s", "--l1-ttl", "50ms", "--query-cost", "5ms")
	// Give id 7 a stale L1 copy and no Redis copy.
	wantSource(t, a.item(t, 7), 200, "db")
	if err := e.rdb(t).Del(context.Background(), itemKey(7)).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)

	e.pg.signalTree(syscall.SIGSTOP)
	resumed := false
	resume := func() {
		if !resumed {
			e.pg.signalTree(syscall.SIGCONT)
			resumed = true
		}
	}
	t.Cleanup(resume)

	var wg sync.WaitGroup
	var degraded, other atomic.Int64
	for i := range 40 {
		wg.Go(func() {
			r, err := doErr(client, "GET", fmt.Sprintf("%s/items/%d", a.base, 1000+i), "")
			switch {
			case err == nil && r.code == 200 && r.hdr.Get("X-Degraded") == "1":
				degraded.Add(1)
			default:
				other.Add(1)
				t.Logf("unexpected: %v %d %s", err, r.code, r.body)
			}
		})
	}
	wg.Wait()
	if degraded.Load() != 40 {
		t.Fatalf("%d of 40 reads degraded while the DB is stopped", degraded.Load())
	}
	s := a.stats(t)
	if s.Breaker.State != "open" || s.Breaker.Opens != 1 {
		t.Fatalf("breaker %+v", s.Breaker)
	}
	r := a.item(t, 2000)
	wantSource(t, r, 200, "degraded")
	if !strings.Contains(string(r.body), `"degraded":true`) || r.took > 50*time.Millisecond {
		t.Fatalf("open breaker answer %s in %v", r.body, r.took)
	}
	if rej := a.stats(t).Breaker.Rejected; rej != s.Breaker.Rejected+1 {
		t.Fatalf("rejected %d, want %d", rej, s.Breaker.Rejected+1)
	}
	wantSource(t, a.item(t, 7), 200, "l1-stale")

	resume()
	// After the cooldown a probe goes through; a probe that succeeds but is
	// slower than the slow-call threshold (the first query on a fresh
	// connection can be) counts as a failure and reopens the breaker for
	// another cooldown, so await both: a DB answer and a closed breaker.
	next := 2000
	err := waitFor(6*time.Second, func() error {
		next++ // a fresh id each time: an answered one is cached
		if r := a.item(t, next); r.hdr.Get("X-Source") != "db" {
			return fmt.Errorf("source %s", r.hdr.Get("X-Source"))
		}
		if st := a.stats(t).Breaker.State; st != "closed" {
			return fmt.Errorf("breaker %s after a DB answer", st)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("no recovery after DB resumed: %v", err)
	}
}

func TestUnprotectedReadsHangOnStoppedDB(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	a := e.startAPI(t, "--protections", "none")
	wantSource(t, a.item(t, 5), 200, "db")
	e.pg.signalTree(syscall.SIGSTOP)
	defer e.pg.signalTree(syscall.SIGCONT)

	short := &http.Client{Timeout: 500 * time.Millisecond}
	var wg sync.WaitGroup
	var timedOut atomic.Int64
	for i := range 8 {
		wg.Go(func() {
			if _, err := doErr(short, "GET", fmt.Sprintf("%s/items/%d", a.base, 1500+i), ""); err != nil {
				timedOut.Add(1)
			}
		})
	}
	time.Sleep(250 * time.Millisecond)
	s := a.stats(t)
	wg.Wait()
	if timedOut.Load() != 8 {
		t.Fatalf("%d of 8 clients timed out; the unprotected api should leave them waiting", timedOut.Load())
	}
	if s.InFlight < 8 || s.Pool["primary"].Waiting < 4 {
		t.Fatalf("mid-fault in_flight=%d waiting=%d; want requests piled up on the pool", s.InFlight, s.Pool["primary"].Waiting)
	}
}

func TestIdempotentOrders(t *testing.T) {
	e := needEnv(t)
	a := e.startAPI(t, "--protections", "idempotency")
	key := fmt.Sprintf("k-%d", time.Now().UnixNano())
	post := func(body, key string) reply {
		if key == "" {
			return do(t, "POST", a.base+"/orders", body)
		}
		return do(t, "POST", a.base+"/orders", body, "Idempotency-Key", key)
	}
	first := post(`{"item_id":3,"qty":2}`, key)
	if first.code != 201 {
		t.Fatalf("first order: %d %s", first.code, first.body)
	}
	id := first.json(t)["order_id"]
	again := post(`{"item_id":3,"qty":2}`, key)
	if m := again.json(t); again.code != 200 || m["order_id"] != id || m["replayed"] != true {
		t.Fatalf("replay: %d %s, want 200 with order_id %v", again.code, again.body, id)
	}
	if n := e.countOrders(t, key); n != 1 {
		t.Fatalf("%d rows for key %s, want 1", n, key)
	}
	if r := post(`{"item_id":3,"qty":5}`, key); r.code != 422 {
		t.Fatalf("key reused with another body: %d %s", r.code, r.body)
	}

	// Concurrent duplicates: one insert, the rest replay the same id.
	key2 := key + "-c"
	var wg sync.WaitGroup
	var created, replayed atomic.Int64
	ids := make(chan any, 16)
	for range 16 {
		wg.Go(func() {
			r, err := doErr(client, "POST", a.base+"/orders", `{"item_id":4,"qty":1}`, "Idempotency-Key", key2)
			if err != nil {
				t.Error(err)
				return
			}
			switch r.code {
			case 201:
				created.Add(1)
			case 200:
				replayed.Add(1)
			}
			var m map[string]any
			_ = json.Unmarshal(r.body, &m)
			ids <- m["order_id"]
		})
	}
	wg.Wait()
	close(ids)
	seen := map[any]bool{}
	for id := range ids {
		seen[id] = true
	}
	if created.Load() != 1 || replayed.Load() != 15 || len(seen) != 1 || e.countOrders(t, key2) != 1 {
		t.Fatalf("concurrent: created=%d replayed=%d ids=%v rows=%d", created.Load(), replayed.Load(), seen, e.countOrders(t, key2))
	}

	for _, tc := range []struct{ body, key, want string }{
		{`{"item_id":3,"qty":2}`, "", "Idempotency-Key header is required"},
		{`{"item_id":"x","qty":2}`, "k", "invalid JSON body"},
		{`{"item_id":3}`, "k", "qty is required"},
		{`{"item_id":3,"qty":2,"price":1}`, "k", `unknown field \"price\"`},
		{`{"item_id":-3,"qty":2}`, "k", "item_id -3"},
		{``, "k", "request body is empty"},
	} {
		if r := post(tc.body, tc.key); r.code != 400 || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("POST %s key=%q: %d %s, want 400 with %q", tc.body, tc.key, r.code, r.body, tc.want)
		}
	}

	// Without the protection duplicates land, and the audit can count them.
	a.protect(t, map[string]bool{protIdempotency: false})
	key3 := key + "-off"
	r1, r2 := post(`{"item_id":5,"qty":1}`, key3), post(`{"item_id":5,"qty":1}`, key3)
	if r1.code != 201 || r2.code != 201 || r1.json(t)["order_id"] == r2.json(t)["order_id"] {
		t.Fatalf("unprotected duplicates: %d %s / %d %s", r1.code, r1.body, r2.code, r2.body)
	}
	if n := e.countOrders(t, key3); n != 2 {
		t.Fatalf("%d rows for unprotected key, want 2", n)
	}
	if r := post(`{"item_id":5,"qty":1}`, ""); r.code != 201 {
		t.Fatalf("keyless order with idempotency off: %d %s", r.code, r.body)
	}

	r := do(t, "GET", a.base+"/orders/recent?n=3", "")
	var rec struct {
		Orders []orderJSON `json:"orders"`
		Pool   string      `json:"pool"`
	}
	if err := json.Unmarshal(r.body, &rec); err != nil || r.code != 200 || len(rec.Orders) != 3 || rec.Pool != "primary" {
		t.Fatalf("recent: %d %s %v", r.code, r.body, err)
	}
	if rec.Orders[0].Key != nil || rec.Orders[0].OrderID <= rec.Orders[1].OrderID {
		t.Fatalf("recent not newest first: %s", r.body)
	}
	for _, q := range []string{"n=0", "n=101", "n=x", "n="} {
		if r := do(t, "GET", a.base+"/orders/recent?"+q, ""); r.code != 400 {
			t.Errorf("recent?%s: %d %s", q, r.code, r.body)
		}
	}
	s := a.stats(t)
	if s.Orders.Created != 5 || s.Orders.Replayed != 16 {
		t.Fatalf("orders stats %+v, want created 5 replayed 16", s.Orders)
	}
}

func TestPrimaryDown503VersusPlain500(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	a := e.startAPI(t, "--protections", "retry_after", "--retry-after", "2s")
	if r := do(t, "POST", a.base+"/orders", `{"item_id":1,"qty":1}`); r.code != 201 {
		t.Fatalf("order before the fault: %d %s", r.code, r.body)
	}
	e.pg.stop()
	t.Cleanup(func() {
		select {
		case <-e.pg.done:
			if err := e.startPG(); err != nil {
				t.Errorf("restart postgres: %v", err)
			}
		default:
		}
	})

	for _, tc := range []struct {
		retryAfter bool
		code       int
		header     string
	}{{true, 503, "2"}, {false, 500, ""}} {
		a.protect(t, map[string]bool{protRetryAfter: tc.retryAfter})
		for _, r := range []reply{
			do(t, "POST", a.base+"/orders", `{"item_id":1,"qty":1}`),
			do(t, "GET", a.base+"/orders/recent", ""),
		} {
			if r.code != tc.code || r.hdr.Get("Retry-After") != tc.header {
				t.Errorf("retry_after=%v: %d Retry-After=%q %s; want %d %q",
					tc.retryAfter, r.code, r.hdr.Get("Retry-After"), r.body, tc.code, tc.header)
			}
		}
	}
	if r := a.item(t, 2500); r.code != 500 {
		t.Errorf("unprotected read with the DB down: %d %s", r.code, r.body)
	}
	if s := a.stats(t); s.Orders.Failed != 2 || s.DBErrors["primary"] < 4 {
		t.Errorf("failure counters: orders %+v db_errors %v", s.Orders, s.DBErrors)
	}

	if err := e.startPG(); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(5*time.Second, func() error {
		if r := do(t, "POST", a.base+"/orders", `{"item_id":1,"qty":1}`); r.code != 201 {
			return fmt.Errorf("%d %s", r.code, r.body)
		}
		return nil
	}); err != nil {
		t.Fatalf("orders did not recover: %v", err)
	}
}

func TestAdmin(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	a := e.startAPI(t, "--protections", "none", "--admin-token", "tok")

	r := do(t, "PUT", a.base+"/admin/protections", `{"l1_cache":true,"bogus":true}`)
	if r.code != 400 || !strings.Contains(string(r.body), "unknown protection(s) bogus") ||
		!strings.Contains(string(r.body), `"valid":`+validNames()) {
		t.Fatalf("unknown protection: %d %s", r.code, r.body)
	}
	r = do(t, "PUT", a.base+"/admin/protections", `{"l1_cache":true}`)
	if m := r.json(t); r.code != 200 || len(m) != len(protectionNames) || m["l1_cache"] != true || m["db_breaker"] != false {
		t.Fatalf("set protection: %d %s", r.code, r.body)
	}

	r = do(t, "PUT", a.base+"/admin/settings", `{"breaker_cooldown":"3s","query_cost":"10ms"}`)
	if m := r.json(t); r.code != 200 || m["breaker_cooldown"] != "3s" || m["query_cost"] != "10ms" || m["retry_after"] != "1s" {
		t.Fatalf("settings: %d %s", r.code, r.body)
	}
	for _, body := range []string{`{"breaker_cooldown":"soon"}`, `{"cooldown":"3s"}`, `{"retry_after":"0.5s"}`, `{}`} {
		if r := do(t, "PUT", a.base+"/admin/settings", body); r.code != 400 {
			t.Errorf("settings %s: %d %s", body, r.code, r.body)
		}
	}

	// Warm: one key from L1 plus ids 1..50 from the DB.
	wantSource(t, a.item(t, 2900), 200, "db")
	e.flushRedis(t)
	r = do(t, "POST", a.base+"/admin/warm", `{"top":50}`)
	if m := r.json(t); r.code != 200 || m["written"] != 51.0 || m["from_l1"] != 1.0 {
		t.Fatalf("warm: %d %s", r.code, r.body)
	}
	if n, err := e.rdb(t).DBSize(context.Background()).Result(); err != nil || n != 51 {
		t.Fatalf("redis holds %d keys after warm (%v), want 51", n, err)
	}
	for _, body := range []string{`{"top":-1}`, `{}`, `{"top":"all"}`} {
		if r := do(t, "POST", a.base+"/admin/warm", body); r.code != 400 {
			t.Errorf("warm %s: %d %s", body, r.code, r.body)
		}
	}

	if r := do(t, "POST", a.base+"/admin/reset", ""); r.code != 200 || a.stats(t).L1Entries != 0 {
		t.Fatalf("reset: %d %s", r.code, r.body)
	}
	s := a.stats(t)
	if s.Pool["primary"].Max != 4 || s.Breaker.State != "closed" || s.HeapBytes == 0 {
		t.Fatalf("stats %+v", s)
	}
	r = do(t, "GET", a.base+"/metrics", "")
	for _, want := range []string{`api_db_queries_total{pool="primary"}`, `api_cache_requests_total{layer="l1",result="hit"}`,
		"api_breaker_state 0", `api_pool_acquire_waits_total{pool="primary"}`, "api_in_flight"} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// From a non-loopback address only the bearer token opens admin.
	ip := nonLoopbackIP()
	if ip == "" {
		t.Log("no non-loopback IPv4 address; remote admin checks skipped")
		return
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	remote := e.startAPI(t, "--protections", "none", "--admin-token", "tok",
		"--listen", net.JoinHostPort(ip, fmt.Sprint(port)))
	for _, tc := range []struct {
		hdr  []string
		want int
	}{
		{nil, 403},
		{[]string{"Authorization", "Bearer wrong"}, 403},
		{[]string{"Authorization", "Bearer tok"}, 200},
	} {
		r := do(t, "GET", remote.base+"/admin/stats", "", tc.hdr...)
		if r.code != tc.want {
			t.Errorf("remote admin with %v: %d %s, want %d", tc.hdr, r.code, r.body, tc.want)
		}
	}
	if r := do(t, "GET", remote.base+"/health", ""); r.code != 200 {
		t.Errorf("remote health: %d", r.code)
	}
}

func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return ""
}

// TestDBCapacity measures item reads/s that miss every cache: the DB must
// be the bottleneck at about db-pool / query-cost.
func TestDBCapacity(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	a := e.startAPI(t, "--protections", "none", "--db-pool", "4", "--query-cost", "20ms")
	const want = 4 / 0.020 // q/s
	var next, done atomic.Int64
	stop := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				id := next.Add(1)
				if r, err := doErr(client, "GET", fmt.Sprintf("%s/items/%d", a.base, id), ""); err == nil && r.code == 200 {
					done.Add(1)
				}
			}
		})
	}
	wg.Wait()
	rate := float64(done.Load()) / time.Since(start).Seconds()
	t.Logf("DB capacity with --db-pool 4 --query-cost 20ms: %.0f reads/s (design %.0f)", rate, want)
	if rate > 1.15*want || rate < 0.4*want {
		t.Fatalf("measured %.0f reads/s, want about %.0f", rate, want)
	}
	if s := a.stats(t); s.Pool["primary"].AcquireWaits == 0 || s.Pool["primary"].AcquireWaitSeconds == 0 {
		t.Fatalf("32 clients on 4 connections but no acquire waits: %+v", s.Pool["primary"])
	}
}

func TestReplicaReadsAndLifecycle(t *testing.T) {
	e := needEnv(t)
	e.flushRedis(t)
	// The same server stands in for a replica: what matters here is which
	// pool the api picks.
	a := e.startAPI(t, "--protections", "none", "--pg-replica", e.dsn(),
		"--pgbouncer", e.dsn(), "--broker", "127.0.0.1:9")
	wantSource(t, a.item(t, 77), 200, "db")
	a.protect(t, map[string]bool{protReplicaReads: true})
	wantSource(t, a.item(t, 78), 200, "db")
	r := do(t, "GET", a.base+"/orders/recent?n=1", "")
	if r.code != 200 || r.json(t)["pool"] != "replica" {
		t.Fatalf("recent with replica_reads: %d %s", r.code, r.body)
	}
	if r := do(t, "POST", a.base+"/orders", `{"item_id":1,"qty":1}`); r.code != 201 {
		t.Fatalf("order: %d %s", r.code, r.body)
	}
	s := a.stats(t)
	if s.DBQueries["replica"] != 2 || s.Pool["replica"].Max != 4 { // item, recent
		t.Fatalf("replica queries %d pool %+v", s.DBQueries["replica"], s.Pool["replica"])
	}

	// SIGTERM is a clean exit.
	a.stop()
	if code := a.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(a.output(), "shutting down") {
		t.Fatalf("exit code %d after SIGTERM; output:\n%s", code, a.output())
	}
}

func TestStartupTimeout(t *testing.T) {
	e := needEnv(t)
	port, err := freePort() // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	listen, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p, err := startProc("api", nil, e.apiBin, "--listen", fmt.Sprintf("127.0.0.1:%d", listen),
		"--redis", e.redisAddr(), "--pg-primary", fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres", port),
		"--startup-timeout", "600ms")
	if err != nil {
		t.Fatal(err)
	}
	<-p.done
	took := time.Since(start)
	out := p.output()
	if p.cmd.ProcessState.ExitCode() != 1 || !strings.Contains(out, "startup: postgres primary (schema + seed) not ready after 600ms") ||
		!strings.Contains(out, "connect") {
		t.Fatalf("exit %d after %v:\n%s", p.cmd.ProcessState.ExitCode(), took, out)
	}
	if took > 5*time.Second {
		t.Fatalf("gave up after %v, want about 600ms", took)
	}
}

// TestDBPoolLimits checks internal/db against the real server: the session
// statement_timeout follows Limits, the server cancels a slow statement
// (keeping the connection), and a full pool makes acquire time out.
func TestDBPoolLimits(t *testing.T) {
	e := needEnv(t)
	p, err := db.Open("primary", e.dsn(), 1, func() time.Duration { return time.Second })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	show := func(lim db.Limits) string {
		var v string
		if err := p.Do(ctx, lim, func(ctx context.Context, c *pgx.Conn) error {
			return c.QueryRow(ctx, "SHOW statement_timeout").Scan(&v)
		}); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		lim  db.Limits
		want string
	}{
		{db.Limits{}, "0"},
		{db.Limits{Statement: 150 * time.Millisecond}, "150ms"},
		{db.Limits{Statement: 2 * time.Second}, "2s"},
		{db.Limits{}, "0"},
	} {
		if got := show(tc.lim); got != tc.want {
			t.Fatalf("statement_timeout %q with %+v, want %q", got, tc.lim, tc.want)
		}
	}

	start := time.Now()
	err = p.Do(ctx, db.Limits{Statement: 100 * time.Millisecond}, func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT pg_sleep(2)")
		return err
	})
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57014" || time.Since(start) > time.Second {
		t.Fatalf("slow statement: %v after %v, want a server-side cancel (57014)", err, time.Since(start))
	}

	// Hold the only connection; a bounded acquire gives up and is counted.
	hold := make(chan struct{})
	held := make(chan struct{})
	go func() {
		_ = p.Do(ctx, db.Limits{}, func(ctx context.Context, c *pgx.Conn) error {
			close(held)
			<-hold
			return nil
		})
	}()
	<-held
	err = p.Do(ctx, db.Limits{Acquire: 30 * time.Millisecond}, func(context.Context, *pgx.Conn) error { return nil })
	close(hold)
	if !errors.Is(err, db.ErrAcquireTimeout) {
		t.Fatalf("acquire on a full pool: %v", err)
	}
	if s := p.Stats(); s.AcquireTimeouts != 1 || s.Errors != 2 || s.Max != 1 {
		t.Fatalf("pool stats %+v", s)
	}
}

// validNames is every protection, sorted, as the admin API lists them.
func validNames() string {
	b, _ := json.Marshal(slices.Sorted(slices.Values(protectionNames)))
	return string(b)
}
