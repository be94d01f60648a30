// Package operator holds the clients an operator's scripts would use on a
// running stack: the API's admin endpoints, Patroni's REST API, and
// Postgres and Redis connections of their own. The runner and the
// scenarios share them.
package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// API talks to the API's admin endpoints, the way an operator would.
type API struct {
	base  string
	hc    *http.Client
	token string // bearer token, if the stack needs one
}

// NewAPI is a client of the admin endpoints at base (http://host:port);
// token is their bearer token, "" where loopback suffices.
func NewAPI(base, token string) *API {
	return &API{base: base, hc: &http.Client{Timeout: 10 * time.Second}, token: token}
}

// Base is the API's URL.
func (a *API) Base() string { return a.base }

func (a *API) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding response: %w", method, path, err)
		}
	}
	return nil
}

// SetProtections replaces the API's protection set.
func (a *API) SetProtections(ctx context.Context, on map[string]bool) error {
	return a.do(ctx, http.MethodPut, "/admin/protections", on, nil)
}

// Protections returns the names the API knows with their state.
func (a *API) Protections(ctx context.Context) (map[string]bool, error) {
	var m map[string]bool
	err := a.do(ctx, http.MethodGet, "/admin/protections", nil, &m)
	return m, err
}

func (a *API) Settings(ctx context.Context, s map[string]string) error {
	if len(s) == 0 {
		return nil
	}
	return a.do(ctx, http.MethodPut, "/admin/settings", s, nil)
}

// CurrentSettings reads every setting the service runs with now.
func (a *API) CurrentSettings(ctx context.Context) (map[string]string, error) {
	var m map[string]string
	err := a.do(ctx, http.MethodGet, "/admin/settings", nil, &m)
	return m, err
}

func (a *API) Reset(ctx context.Context) error {
	return a.do(ctx, http.MethodPost, "/admin/reset", struct{}{}, nil)
}

// Warm asks the API to load its L1 keys and ids 1..top into Redis, and
// with l1 also ids 1..top into its in-process cache.
func (a *API) Warm(ctx context.Context, top int, l1 bool) (int, error) {
	var out struct {
		Written int `json:"written"`
	}
	err := a.do(ctx, http.MethodPost, "/admin/warm", map[string]any{"top": top, "l1": l1}, &out)
	return out.Written, err
}

// Stats reads /admin/stats flattened into numbers and strings.
func (a *API) Stats(ctx context.Context) (map[string]float64, map[string]string, error) {
	var raw map[string]any
	if err := a.do(ctx, http.MethodGet, "/admin/stats", nil, &raw); err != nil {
		return nil, nil, err
	}
	nums, texts := map[string]float64{}, map[string]string{}
	flatten("", raw, nums, texts)
	return nums, texts, nil
}

func flatten(prefix string, v any, nums map[string]float64, texts map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, vv, nums, texts)
		}
	case float64:
		nums[prefix] = x
	case bool:
		if x {
			nums[prefix] = 1
		} else {
			nums[prefix] = 0
		}
	case string:
		texts[prefix] = x
	}
}
