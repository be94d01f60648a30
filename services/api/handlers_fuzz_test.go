package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/breaker"
	"github.com/whatif-lab/whatif/services/internal/cache"
	"github.com/whatif-lab/whatif/services/internal/ratelimit"
)

// fuzzApp has what the handlers use before they reach Postgres, Redis or
// the broker, and none of those: a target sends a DB-bound handler only
// the inputs its decoder refuses, which must be answered before any I/O.
func fuzzApp(t testing.TB, protections string) *app {
	t.Helper()
	prot, err := newProtections(protections)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := newExportCache(32 << 20)
	if err != nil {
		t.Fatal(err)
	}
	l1, err := cache.NewL1[int64, string](1000, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	lim, err := ratelimit.New(15, 15, 1000)
	if err != nil {
		t.Fatal(err)
	}
	newBreaker := func() *breaker.Breaker { return breaker.New(breaker.Config{Window: time.Second}, nil) }
	a := &app{prot: prot, exports: ex, exportCap: 1 << 20, l1: l1, limiter: lim, checkoutGate: newPriorityGate(6),
		breaker: newBreaker(), reportBreaker: newBreaker(), reg: prometheus.NewRegistry(), boot: time.Now()}
	defaults := knob.Values{}
	for _, k := range knob.All {
		defaults[k.Name] = k.Def
	}
	a.applySettings(defaults)
	return a
}

// serve runs r through h and returns the status and the message of a JSON
// error answer ("" when there is none).
func serve(h http.Handler, r *http.Request) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(w.Body.Bytes(), &e)
	return w.Code, e.Error
}

// wantRejected fails unless bad input got a 400 that says what is wrong.
func wantRejected(t *testing.T, input string, code int, msg string) {
	t.Helper()
	if code != http.StatusBadRequest || msg == "" {
		t.Fatalf("%s: %d %q, want 400 with a message", input, code, msg)
	}
}

// FuzzPathID: each {id} route answers an id that is not a positive integer
// with 400 (or the mux's own 3xx/404 for a path it does not route). A good
// id goes only to /products, 404 without a cluster: the others would query.
func FuzzPathID(f *testing.F) {
	for _, s := range []string{"1", "100000", "0", "-3", "-1", "abc", "1.5", "", "99999999999999999999",
		"9223372036854775807", "9223372036854775808", "+1", " 1", "1 ", "0x1f", "1e3", "٣", "1/2", "..", ".", "%",
		"%zz", "\x00", "1?n=1", "1#x", "01"} {
		f.Add(s)
	}
	h := fuzzApp(f, "all").routes()
	f.Fuzz(func(t *testing.T, id string) {
		_, err := parseID(id)
		for _, route := range []string{"/items/", "/quote/", "/bff/quote/", "/pricing/quote/", "/customers/", "/products/"} {
			path := route + url.PathEscape(id)
			if route == "/customers/" {
				path += "/spend"
			}
			if err == nil {
				if route == "/products/" {
					if code, msg := serve(h, httptest.NewRequest(http.MethodGet, path, nil)); code != http.StatusNotFound || msg == "" {
						t.Fatalf("GET %s without a cluster: %d %q, want 404", path, code, msg)
					}
				}
				continue
			}
			code, msg := serve(h, httptest.NewRequest(http.MethodGet, path, nil))
			if code < 300 || code >= 500 || (code == http.StatusBadRequest && msg == "") {
				t.Fatalf("GET %s: %d %q, want 400 with a message", path, code, msg)
			}
		}
	})
}

// FuzzExportQuery: GET /exports/{id}?kb= builds only a non-negative id and
// a kb in 1..1024 (payload_cap on), answers 413 up to 1 GiB, else 400.
func FuzzExportQuery(f *testing.F) {
	for _, s := range [][2]string{{"1", "kb=64"}, {"1", "kb=1024"}, {"1", "kb=1025"}, {"1", ""}, {"1", "kb=0"},
		{"1", "kb=1048577"}, {"-1", "kb=1"}, {"x", "kb=1"}, {"0", "kb=1"}, {"1", "kb=-1"}, {"1", "kb=1&kb=2000"},
		{"1", "kb=%zz"}, {"1", "kb=+1"}, {"9223372036854775807", "kb=1"}, {"1", "kb=1;x=2"}, {"1", "kb=99999999999999999999"},
		{"1", "KB=1"}, {"1", "kb= 1"}, {"1", "kb"}} {
		f.Add(s[0], s[1])
	}
	h := fuzzApp(f, "all").routes() // payload_cap on: nothing above 1 MiB is built
	f.Fuzz(func(t *testing.T, id, query string) {
		r := httptest.NewRequest(http.MethodGet, "/exports/"+url.PathEscape(id), nil)
		r.URL.RawQuery = query
		code, msg := serve(h, r)
		n, idErr := strconv.ParseInt(id, 10, 64)
		kb, kbErr := strconv.Atoi(r.URL.Query().Get("kb"))
		good := idErr == nil && n >= 0 && kbErr == nil && kb >= 1
		switch {
		case code >= 500:
			t.Fatalf("GET /exports/%q?%s: %d %q", id, query, code, msg)
		case code == http.StatusOK && !(good && kb <= 1024),
			code == http.StatusRequestEntityTooLarge && !(good && kb > 1024 && kb <= maxExportKB):
			t.Fatalf("GET /exports/%q?%s: %d, but id %q kb %d", id, query, code, id, kb)
		case code == http.StatusBadRequest && msg == "":
			t.Fatalf("GET /exports/%q?%s: 400 without a message", id, query)
		}
	})
}

// FuzzRecentOrdersQuery: GET /orders/recent?n= outside 1..100 is a 400.
func FuzzRecentOrdersQuery(f *testing.F) {
	for _, s := range []string{"n=0", "n=101", "n=x", "n=", "", "n=10", "n=100", "n=1&n=200", "n=%zz", "n=+5", "n=-0",
		"n=1;", "n=0100", "N=5", "n", "n=1e1", "n=99999999999999999999"} {
		f.Add(s)
	}
	h := fuzzApp(f, "all").routes()
	f.Fuzz(func(t *testing.T, query string) {
		q := (&url.URL{RawQuery: query}).Query()
		if n, err := parseRecentN(q.Get("n"), q.Has("n")); err == nil {
			if n < 1 || n > recentMax {
				t.Fatalf("?%s: n %d accepted", query, n)
			}
			return // the handler would query the database
		}
		r := httptest.NewRequest(http.MethodGet, "/orders/recent", nil)
		r.URL.RawQuery = query
		code, msg := serve(h, r)
		wantRejected(t, "?"+query, code, msg)
	})
}

// FuzzOrderRequest: POST /orders' body and Idempotency-Key, with the
// idempotency switch either way. What decodeOrder refuses the handler
// answers 400; what it accepts is a valid order (and would be written).
func FuzzOrderRequest(f *testing.F) {
	for _, s := range []struct {
		body, key string
		idem      bool
	}{
		{`{"item_id":7,"qty":2}`, "k-1", true}, {`{"item_id":7,"qty":2}`, "", false}, {`{"qty":1}`, "k", true},
		{`{"item_id":0,"qty":1}`, "k", true}, {`{"item_id":1}`, "k", false}, {`{"item_id":1,"qty":0}`, "k", true},
		{`{"item_id":1,"qty":1001}`, "k", true}, {`{"item_id":1,"qty":1}`, "", true},
		{`{"item_id":1,"qty":1}`, strings.Repeat("k", 201), true}, {`{"item_id":1,"qty":1}`, "a b", false},
		{`{"item_id":1,"qty":1}`, "clé", true}, {`{"item_id":"x","qty":2}`, "k", true},
		{`{"item_id":3,"qty":2,"price":1}`, "k", true}, {`{"item_id":-3,"qty":2}`, "k", true}, {``, "k", true},
		{`null`, "k", true}, {`{"item_id":null,"qty":1}`, "k", true}, {`{"item_id":1e3,"qty":1}`, "k", true},
		{`{"item_id":9223372036854775808,"qty":1}`, "k", true}, {`{"item_id":1,"qty":1}{}`, "k", true},
		{`{"item_id":1,"qty":1}}`, "k", true}, {`[]`, "k", true}, {`{"item_id":1,"qty":1.0}`, "k", true},
		{`{"ITEM_ID":1,"qty":1}`, "k", true}, {`{"item_id":1,"qty":1}`, "k\x00", true}, {`{"item_id":1,"qty":1}`, "k\r\nX: y", true},
	} {
		f.Add(s.body, s.key, s.idem)
	}
	a := fuzzApp(f, "none")
	h := a.routes()
	f.Fuzz(func(t *testing.T, body, key string, idem bool) {
		if err := a.prot.Apply(map[string]bool{protIdempotency: idem}); err != nil {
			t.Fatal(err)
		}
		req := func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/orders", strings.NewReader(body))
			r.Header.Set("Idempotency-Key", key)
			return r
		}
		o, err := decodeOrder(httptest.NewRecorder(), req(), idem)
		if err == nil {
			if o.itemID < 1 || o.qty < 1 || o.qty > maxQty || (o.key == "" && idem) || (o.key != "" && validKey(o.key) != nil) {
				t.Fatalf("body %q key %q: accepted %+v", body, key, o)
			}
			return // the handler would write it to Postgres
		}
		code, msg := serve(h, req())
		wantRejected(t, "body "+strconv.Quote(body)+" key "+strconv.Quote(key), code, msg)
	})
}

// FuzzCheckoutRequest: POST /checkout's body and X-Priority, X-Client-ID
// and Idempotency-Key headers, with queue_writes on, so that the handler
// never reaches the database: bad input is 400; good input finds no broker
// configured (503).
func FuzzCheckoutRequest(f *testing.F) {
	for _, s := range [][4]string{
		{`{"item_id":1}`, "", "", "k-1"}, {`{"item_id":0}`, "", "", "k"}, {`{"item_id":11}`, "", "", "k"}, {`{}`, "", "", "k"},
		{`{"item_id":1}`, "urgent", "", "k"}, {`{"item_id":1}`, "HIGH", "", "k"}, {`{"item_id":1}`, "high", "user-1", "k"},
		{`{"item_id":1}`, "low", "a b", "k"}, {`{"item_id":1}`, "", string(make([]byte, 101)), "k"},
		{`{"item_id":1}`, "", strings.Repeat("c", 101), "k"}, {`{"item_id":1}`, "", "", ""}, {`{"item_id":1}`, "", "", "a b"},
		{`{"item_id":"1"}`, "", "", "k"}, {`{"item_id":1.5}`, "", "", "k"}, {`{"item_id":1}}`, "", "", "k"}, {``, "", "", "k"},
		{`null`, "", "", "k"}, {`{"item_id":null}`, "", "", "k"}, {`{"item_id":1,"qty":1}`, "", "", "k"}, {`{"item_id":1}`, "", "é", "k"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	h := fuzzApp(f, protQueueWrites).routes()
	f.Fuzz(func(t *testing.T, body, prio, client, key string) {
		req := func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
			r.Header.Set("X-Priority", prio)
			r.Header.Set("X-Client-ID", client)
			r.Header.Set("Idempotency-Key", key)
			return r
		}
		in, err := decodeCheckout(httptest.NewRecorder(), req())
		if err == nil && (in.item < 1 || in.item > stockItems || (in.prio != "low" && in.prio != "high") || in.client == "") {
			t.Fatalf("accepted %+v", in)
		}
		input := strconv.Quote(body) + " X-Priority " + strconv.Quote(prio) + " X-Client-ID " + strconv.Quote(client) +
			" Idempotency-Key " + strconv.Quote(key)
		code, msg := serve(h, req())
		if err == nil && validKey(key) == nil {
			if code != http.StatusServiceUnavailable {
				t.Fatalf("%s: %d %q, want 503 (no broker in this test)", input, code, msg)
			}
			return
		}
		wantRejected(t, input, code, msg)
	})
}
