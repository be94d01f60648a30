package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/services/internal/protections"
)

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, tc := range []struct {
		name, token, remote, auth string
		want                      int
	}{
		{"loopback v4", "", "127.0.0.1:5000", "", 204},
		{"loopback v6", "", "[::1]:5000", "", 204},
		{"loopback other", "", "127.9.9.9:5000", "", 204},
		{"remote no token configured", "", "192.0.2.7:5000", "Bearer ", 403},
		{"remote without header", "s3cret", "192.0.2.7:5000", "", 403},
		{"remote wrong token", "s3cret", "192.0.2.7:5000", "Bearer nope", 403},
		{"remote wrong scheme", "s3cret", "192.0.2.7:5000", "Basic s3cret", 403},
		{"remote good token", "s3cret", "192.0.2.7:5000", "Bearer s3cret", 204},
		{"garbage remote", "s3cret", "nonsense", "", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/admin/x", nil)
			r.RemoteAddr = tc.remote
			r.Header.Set("X-Forwarded-For", "127.0.0.1") // must not be trusted
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			Guard(tc.token, ok).ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.want, w.Body)
			}
			if w.Code == 403 && !strings.Contains(w.Body.String(), "loopback") {
				t.Fatalf("403 without an explanation: %s", w.Body)
			}
		})
	}
}

func TestProtectionsHandler(t *testing.T) {
	set, err := protections.New("l1_cache", "db_breaker")
	if err != nil {
		t.Fatal(err)
	}
	h := Protections(set)
	for _, tc := range []struct {
		method, body string
		want         int
		wantBody     string
	}{
		{"GET", "", 200, `{"db_breaker":false,"l1_cache":false}`},
		{"PUT", `{"l1_cache":true}`, 200, `{"db_breaker":false,"l1_cache":true}`},
		{"PUT", `{"db_breaker":true,"bogus":true}`, 400, `"valid":["db_breaker","l1_cache"]`},
		{"GET", "", 200, `{"db_breaker":false,"l1_cache":true}`},
		{"PUT", `{"l1_cache":"yes"}`, 400, `invalid JSON body`},
		{"PUT", ``, 400, `request body is empty`},
		{"PUT", `{"l1_cache":null}`, 400, `l1_cache\" is null`},
		{"PUT", `null`, 400, `body is null`},
		{"PUT", `{"l1_cache":false} {}`, 400, `trailing data`},
		{"POST", `{}`, 405, `use GET or PUT`},
	} {
		r := httptest.NewRequest(tc.method, "/admin/protections", strings.NewReader(tc.body))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want || !strings.Contains(w.Body.String(), tc.wantBody) {
			t.Fatalf("%s %s: %d %s, want %d containing %s", tc.method, tc.body, w.Code, w.Body, tc.want, tc.wantBody)
		}
		if tc.want == 200 {
			var m map[string]bool
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
		}
	}
}
