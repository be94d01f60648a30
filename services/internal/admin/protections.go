package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/whatif-lab/whatif/services/internal/httpx"
	"github.com/whatif-lab/whatif/services/internal/protections"
)

// Protections serves GET and PUT /admin/protections for set.
//
// GET returns every protection: {"l1_cache":true,"db_breaker":false,...}.
// PUT takes the same shape, partially: listed switches change, the others
// stay; the response is the full set after the change. Sending back what
// GET returned is therefore a full replace. Unknown names are a 400 that
// lists the valid ones, and change nothing.
func Protections(set *protections.Set) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
		case http.MethodPut:
			update, err := decodeUpdate(w, r)
			if err != nil {
				httpx.Error(w, http.StatusBadRequest, err.Error()+`; want {"name":true|false,...}`)
				return
			}
			if err := set.Apply(update); err != nil {
				var ue *protections.UnknownError
				if errors.As(err, &ue) {
					httpx.JSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "valid": ue.Valid})
					return
				}
				httpx.Error(w, http.StatusBadRequest, err.Error())
				return
			}
		default:
			w.Header().Set("Allow", "GET, PUT")
			httpx.Error(w, http.StatusMethodNotAllowed, "use GET or PUT")
			return
		}
		httpx.JSON(w, http.StatusOK, set.Snapshot())
	})
}

// decodeUpdate reads {"name":bool,...}; null is refused rather than read as
// false.
func decodeUpdate(w http.ResponseWriter, r *http.Request) (map[string]bool, error) {
	var raw map[string]*bool
	if err := httpx.Decode(w, r, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errors.New("body is null")
	}
	update := make(map[string]bool, len(raw))
	for n, v := range raw {
		if v == nil {
			return nil, fmt.Errorf("protection %q is null", n)
		}
		update[n] = *v
	}
	return update, nil
}
