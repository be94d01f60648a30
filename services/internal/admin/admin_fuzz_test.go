package admin

import (
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/services/internal/protections"
)

// FuzzGuard: a non-loopback peer passes only with the configured, non-empty
// token; everyone else gets 403 with the reason.
func FuzzGuard(f *testing.F) {
	for _, s := range [][3]string{
		{"", "127.0.0.1:5000", ""}, {"", "[::1]:5000", ""}, {"", "127.9.9.9:5000", ""},
		{"", "192.0.2.7:5000", "Bearer "}, {"s3cret", "192.0.2.7:5000", ""}, {"s3cret", "192.0.2.7:5000", "Bearer nope"},
		{"s3cret", "192.0.2.7:5000", "Basic s3cret"}, {"s3cret", "192.0.2.7:5000", "Bearer s3cret"}, {"s3cret", "nonsense", ""},
		{"s3cret", "192.0.2.7:5000", "bearer s3cret"}, {"s3cret", "192.0.2.7:5000", "Bearer s3cret "}, {"", "[::ffff:127.0.0.1]:1", ""},
		{"", "127.0.0.1", ""}, {"", "localhost:80", ""}, {"", "[fe80::1%lo]:1", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f.Fuzz(func(t *testing.T, token, remote, auth string) {
		r := httptest.NewRequest(http.MethodGet, "/admin/x", nil)
		r.RemoteAddr = remote
		r.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		Guard(token, ok).ServeHTTP(w, r)
		switch w.Code {
		case http.StatusNoContent:
			if token != "" && auth == "Bearer "+token {
				return
			}
			host, _, err := net.SplitHostPort(remote)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				t.Fatalf("token %q: peer %q with Authorization %q was let through", token, remote, auth)
			}
		case http.StatusForbidden:
			if !strings.Contains(w.Body.String(), "loopback") {
				t.Fatalf("403 without the reason: %s", w.Body)
			}
		default:
			t.Fatalf("status %d", w.Code)
		}
	})
}

// FuzzProtectionsHandler: any body to /admin/protections is applied (200,
// the full set) or refused with 400 and a message, changing nothing.
func FuzzProtectionsHandler(f *testing.F) {
	for _, s := range [][2]string{
		{"GET", ""}, {"PUT", `{"l1_cache":true}`}, {"PUT", `{"db_breaker":true,"bogus":true}`}, {"PUT", `{"l1_cache":"yes"}`},
		{"PUT", ``}, {"PUT", `{"l1_cache":null}`}, {"PUT", `null`}, {"PUT", `{"l1_cache":false} {}`}, {"POST", `{}`},
		{"PUT", `{}`}, {"PUT", `[]`}, {"PUT", `{"":true}`}, {"PUT", `{"l1_cache":true,"l1_cache":false}`}, {"DELETE", ""},
	} {
		f.Add(s[0], s[1])
	}
	set, err := protections.New("l1_cache", "db_breaker")
	if err != nil {
		f.Fatal(err)
	}
	h := Protections(set)
	f.Fuzz(func(t *testing.T, method, body string) {
		if method != http.MethodGet && method != http.MethodPut {
			method = http.MethodPost // any other method: the answer is the same 405
		}
		before := set.Snapshot()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, "/admin/protections", strings.NewReader(body)))
		var answer map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &answer); err != nil {
			t.Fatalf("%s %q: answer is not JSON: %s", method, body, w.Body)
		}
		switch w.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusMethodNotAllowed:
			if msg, _ := answer["error"].(string); msg == "" || !maps.Equal(before, set.Snapshot()) {
				t.Fatalf("%s %q: %d %s, and switches %v -> %v", method, body, w.Code, w.Body, before, set.Snapshot())
			}
		default:
			t.Fatalf("%s %q: status %d %s", method, body, w.Code, w.Body)
		}
	})
}
