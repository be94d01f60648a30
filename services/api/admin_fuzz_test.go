package main

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/services/api/knob"
)

// adminReq is a request from loopback, which the admin guard lets through.
func adminReq(method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "127.0.0.1:40000"
	return r
}

// FuzzAdminProtections: PUT /admin/protections through the app's routes is
// 200, or 400 with a message and no switch changed.
func FuzzAdminProtections(f *testing.F) {
	for _, s := range []string{`{"l1_cache":true}`, `{"l1_cache":true,"bogus":true}`, `{"db_breaker":true,"bogus":true}`,
		`{"l1_cache":"yes"}`, ``, `{"l1_cache":null}`, `null`, `{"l1_cache":false} {}`, `{"l1_cache":false}}`, `{}`, `[]`,
		`{"":true}`, `{"l1_cache":true,"l1_cache":false}`, `{"l1_cache":1}`, `{"L1_CACHE":true}`} {
		f.Add(s)
	}
	a := fuzzApp(f, "all")
	h := a.routes()
	f.Fuzz(func(t *testing.T, body string) {
		before := a.prot.Snapshot()
		code, msg := serve(h, adminReq(http.MethodPut, "/admin/protections", body))
		switch {
		case code == http.StatusOK:
		case code == http.StatusBadRequest && msg != "":
			if after := a.prot.Snapshot(); !maps.Equal(before, after) {
				t.Fatalf("%q was refused but changed the switches: %v -> %v", body, before, after)
			}
		default:
			t.Fatalf("%q: %d %q, want 200 or 400 with a message", body, code, msg)
		}
	})
}

// FuzzAdminSettings: PUT /admin/settings is 200 with every knob in its
// range, or 400 with a message and no knob changed.
func FuzzAdminSettings(f *testing.F) {
	for _, s := range []string{`{"breaker_cooldown":"3s","query_cost":"10ms"}`, `{"breaker_cooldown":"soon"}`,
		`{"cooldown":"3s"}`, `{"retry_after":"0.5s"}`, `{}`, `{"query_cost":"0s"}`, `{"breaker_cooldown":"0s"}`,
		`{"retry_after":"2500ms"}`, `{"query_cost":"9223372036854775807ns"}`, `{"query_cost":"9223372036854775808ns"}`,
		`{"query_cost":"-1ms"}`, `{"query_cost":20}`, `{"query_cost":null}`, `null`, `{"l1_ttl":"1ms"}`,
		`{"hot_l1_ttl":"1h"}`, `{"query_cost":"1e3s"}`, `{"redis_ttl":"99999999999h"}`, `{"query_cost":"20ms"}}`,
		`{"retry_after":"1h0m0.5s"}`, `{"query_cost":""}`, `{"query_cost":"20ms","bogus":"1s"}`} {
		f.Add(s)
	}
	a := fuzzApp(f, "all")
	h := a.routes()
	f.Fuzz(func(t *testing.T, body string) {
		before := a.settings.snapshot()
		code, msg := serve(h, adminReq(http.MethodPut, "/admin/settings", body))
		switch {
		case code == http.StatusOK:
			for _, k := range knob.All {
				if err := k.Check(k.Name, a.settings.get(k.Name)); err != nil {
					t.Fatalf("%q was applied: %v", body, err)
				}
			}
		case code == http.StatusBadRequest && msg != "":
			if after := a.settings.snapshot(); !maps.Equal(before, after) {
				t.Fatalf("%q was refused but changed the settings: %v -> %v", body, before, after)
			}
		default:
			t.Fatalf("%q: %d %q, want 200 or 400 with a message", body, code, msg)
		}
	})
}

// FuzzAdminWarm: what decodeWarm refuses, POST /admin/warm answers 400;
// what it accepts is a top in 0..warmMax (the handler would read and write).
func FuzzAdminWarm(f *testing.F) {
	for _, s := range []string{`{"top":50}`, `{"top":-1}`, `{}`, `{"top":"all"}`, `{"top":10000001}`, `{"top":1,"l1":true}`,
		`{"top":1.5}`, `{"top":1e7}`, `{"top":9223372036854775808}`, `null`, ``, `{"top":null}`, `{"l1":"yes","top":1}`,
		`{"top":0}`, `{"top":1}}`, `{"top":1,"bottom":2}`} {
		f.Add(s)
	}
	h := fuzzApp(f, "all").routes()
	f.Fuzz(func(t *testing.T, body string) {
		top, _, err := decodeWarm(httptest.NewRecorder(), adminReq(http.MethodPost, "/admin/warm", body))
		if err == nil {
			if top < 0 || top > warmMax {
				t.Fatalf("%q: top %d accepted", body, top)
			}
			return
		}
		code, msg := serve(h, adminReq(http.MethodPost, "/admin/warm", body))
		wantRejected(t, strconv.Quote(body), code, msg)
	})
}

// FuzzStateFile: a --state-file is refused with an error, or leaves every
// knob in its range.
func FuzzStateFile(f *testing.F) {
	for _, s := range []string{`{"protections":{"l1_cache":false},"settings":{"query_cost":"5ms"}}`,
		`{"protections":{"no_such":true}}`, `{}`, ``, `null`, `{"settings":{"query_cost":"fast"}}`,
		`{"settings":{"retry_after":"500ms"}}`, `{"protections":{"l1_cache":null}}`, `{"protections":[]}`, `{`,
		`{"settings":{"bogus":"1s"}}`, `{"settings":{}}`, `{"settings":null,"protections":null}`, `[]`} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "state.json")
	a := fuzzApp(f, "all")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := a.loadState(path); err != nil {
			return
		}
		for _, k := range knob.All {
			if err := k.Check(k.Name, a.settings.get(k.Name)); err != nil {
				t.Fatalf("state file %q was loaded: %v", data, err)
			}
		}
	})
}
