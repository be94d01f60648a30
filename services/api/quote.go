package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// The checkout's three layers for the retry-storm scenario, each its own
// HTTP hop as separate services would be: GET /bff/quote/{id} (the
// backend-for-frontend the client calls) -> GET /pricing/quote/{id} (an
// internal service) -> GET /quote/{id} (the app server: DB-bound work on
// the primary behind load shedding).
const (
	// naiveAttempts is how often the BFF and the internal service try a call
	// with internal_no_retry off: the seed's 2x at each of those layers.
	naiveAttempts   = 2
	upstreamTimeout = 5 * time.Second
	maxUpstreamBody = 1 << 16
)

// getQuote serves GET /quote/{id}.
func (a *app) getQuote(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	a.count.quoteRequests.Add(1)
	wait := a.settings.get(knob.ShedWaitLate)
	if a.prot.On(protShedEarly) {
		wait = a.settings.get(knob.ShedWait)
	}
	if !a.shed.admit(shedLimit(a.primary.Max(), wait, a.primary.ServiceTime())) {
		a.count.quoteShed.Add(1)
		a.unavailableAfter(w, "overloaded: request shed", func(floor time.Duration) time.Duration {
			slot := a.primary.ServiceTime() / time.Duration(max(a.primary.Max(), 1))
			return a.retries.book(time.Now(), floor, slot)
		})
		return
	}
	defer a.shed.release()
	// No acquire timeout here: admission bounds the queue, so the wait for
	// a connection is the queue the shedder allowed.
	lim := db.Limits{Statement: a.limits().Statement}
	payload, found, err := a.queryItem(r.Context(), a.primary, lim, id)
	switch {
	case err == nil && !found:
		httpx.Error(w, http.StatusNotFound, fmt.Sprintf("item %d not found", id))
	case err == nil:
		a.count.quoteServed.Add(1)
		httpx.JSON(w, http.StatusOK, map[string]any{"id": id, "price": len(payload)})
	case r.Context().Err() != nil:
		// caller gone
	default:
		a.unavailable(w, "database: "+err.Error())
	}
}

// unavailable answers 503, with Retry-After when retry_after is on.
func (a *app) unavailable(w http.ResponseWriter, msg string) { a.unavailableAfter(w, msg, nil) }

// unavailableAfter is unavailable whose Retry-After is when(setting), for
// a caller that schedules retries; nil means the setting itself. when runs
// only if retry_after is on.
func (a *app) unavailableAfter(w http.ResponseWriter, msg string, when func(time.Duration) time.Duration) {
	if a.prot.On(protRetryAfter) {
		ra := a.settings.get(knob.RetryAfter)
		if when != nil {
			ra = when(ra)
		}
		w.Header().Set("Retry-After", strconv.FormatInt(wholeSeconds(ra), 10))
	}
	httpx.Error(w, http.StatusServiceUnavailable, msg)
}

// upstreamReply is what the BFF got from /quote.
type upstreamReply struct {
	code       int
	retryAfter string
	body       []byte
}

// bffQuote serves GET /bff/quote/{id}: the BFF, calling the internal service.
func (a *app) bffQuote(w http.ResponseWriter, r *http.Request) {
	a.relay(w, r, "/pricing/quote/", &a.count.bffRequests, &a.count.bffUpstream)
}

// pricingQuote serves GET /pricing/quote/{id}: the internal service,
// calling the app server.
func (a *app) pricingQuote(w http.ResponseWriter, r *http.Request) {
	a.relay(w, r, "/quote/", &a.count.pricingRequests, &a.count.pricingUpstream)
}

// relay is one internal layer: it calls path+id on the next layer, bound to
// its own caller's request. With internal_no_retry on it makes one call and
// passes a 503 and its Retry-After up; off, it is the seed's naive internal
// client, which retries a 503 or a failure at once.
func (a *app) relay(w http.ResponseWriter, r *http.Request, path string, requests, calls *atomic.Int64) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	requests.Add(1)
	attempts := naiveAttempts
	if a.prot.On(protInternalNoRetry) {
		attempts = 1
	}
	var rep upstreamReply
	for n := 1; n <= attempts && r.Context().Err() == nil; n++ {
		calls.Add(1)
		rep, err = a.callUpstream(r.Context(), path+strconv.FormatInt(id, 10))
		if err == nil && rep.code < 500 {
			break
		}
	}
	if r.Context().Err() != nil {
		return // the caller left; so did our call
	}
	if err != nil {
		httpx.Error(w, http.StatusBadGateway, "upstream: "+err.Error())
		return
	}
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.code)
	_, _ = w.Write(rep.body)
}

func (a *app) callUpstream(ctx context.Context, path string) (upstreamReply, error) {
	ctx, cancel := context.WithTimeout(ctx, upstreamTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.self+path, nil)
	if err != nil {
		return upstreamReply{}, err
	}
	resp, err := a.internal.Do(req)
	if err != nil {
		return upstreamReply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxUpstreamBody))
	if err != nil {
		return upstreamReply{}, err
	}
	if resp.StatusCode == 0 {
		return upstreamReply{}, errors.New("no status from quote service")
	}
	return upstreamReply{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: body}, nil
}
