package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/whatif-lab/whatif/services/api/knob"
	"github.com/whatif-lab/whatif/services/internal/db"
	"github.com/whatif-lab/whatif/services/internal/httpx"
)

// The checkout's two layers for the retry-storm scenario: GET /quote/{id}
// is the internal pricing service — DB-bound work on the primary with load
// shedding in front — and GET /bff/quote/{id} is the backend-for-frontend
// that calls it over HTTP, as a separate service would.
const (
	// bffAttempts and bffAttemptTimeout are the naive internal client's:
	// three immediate tries, each allowed longer than any queue.
	bffAttempts       = 3
	bffAttemptTimeout = 5 * time.Second
	maxUpstreamBody   = 1 << 16
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
		a.unavailable(w, "overloaded: request shed")
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
func (a *app) unavailable(w http.ResponseWriter, msg string) {
	if a.prot.On(protRetryAfter) {
		w.Header().Set("Retry-After", strconv.Itoa(int(a.settings.get(knob.RetryAfter)/time.Second)))
	}
	httpx.Error(w, http.StatusServiceUnavailable, msg)
}

// upstreamReply is what the BFF got from /quote.
type upstreamReply struct {
	code       int
	retryAfter string
	body       []byte
}

// bffQuote serves GET /bff/quote/{id}. With internal_no_retry off it is
// the seed's naive internal client: it retries a 503 or a timeout at once,
// up to three times, and its calls outlive the caller (a client that gave
// up still costs the full chain of work). On, it makes one call bound to
// the caller's request and bubbles a 503 up with its Retry-After.
func (a *app) bffQuote(w http.ResponseWriter, r *http.Request) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		httpx.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	a.count.bffRequests.Add(1)
	ctx, attempts := r.Context(), 1
	if !a.prot.On(protInternalNoRetry) {
		ctx, attempts = context.WithoutCancel(ctx), bffAttempts
	}
	var rep upstreamReply
	for n := 1; n <= attempts; n++ {
		a.count.bffUpstream.Add(1)
		rep, err = a.callQuote(ctx, id)
		if err == nil && rep.code < 500 {
			break
		}
	}
	if r.Context().Err() != nil {
		if err == nil && rep.code == http.StatusOK {
			a.count.bffWasted.Add(1) // served for a caller that had left
		}
		return
	}
	if err != nil {
		httpx.Error(w, http.StatusBadGateway, "quote service: "+err.Error())
		return
	}
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.code)
	_, _ = w.Write(rep.body)
}

func (a *app) callQuote(ctx context.Context, id int64) (upstreamReply, error) {
	ctx, cancel := context.WithTimeout(ctx, bffAttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.self+"/quote/"+strconv.FormatInt(id, 10), nil)
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
