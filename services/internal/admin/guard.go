// Package admin holds what every service's admin endpoints share: who may
// call them and the protections switchboard.
package admin

import (
	"crypto/subtle"
	"net"
	"net/http"
	"strings"

	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// Guard lets a request through when it comes from a loopback address, or
// from anywhere with "Authorization: Bearer <token>". An empty token means
// loopback only. Forwarding headers are not trusted: the peer address is.
func Guard(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fromLoopback(r) || validToken(r, token) {
			next.ServeHTTP(w, r)
			return
		}
		httpx.Error(w, http.StatusForbidden,
			"admin endpoints are allowed only from loopback or with Authorization: Bearer <admin token>")
	})
}

func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validToken(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
