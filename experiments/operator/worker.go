package operator

import (
	"context"
	"net/http"
	"net/url"
	"slices"
)

// The worker pool (services/worker) has the API's admin shape —
// protections, settings, reset, stats — so API is its client too; these
// are the calls only the worker answers.

// Consumed is what one consumer group finished since the worker's reset:
// event ids as sorted inclusive ranges, and those finished more than once.
type Consumed struct {
	Group    string           `json:"group"`
	Records  int64            `json:"records"`  // finished, repeats included
	Distinct int              `json:"distinct"` // ids finished at least once
	Ranges   [][2]int64       `json:"ranges"`
	Repeated map[int64]uint32 `json:"repeated"` // id -> times finished, for those > 1
}

// Has says whether id was finished at least once.
func (c Consumed) Has(id int64) bool {
	_, found := slices.BinarySearchFunc(c.Ranges, id, func(r [2]int64, id int64) int {
		switch {
		case id < r[0]:
			return 1
		case id > r[1]:
			return -1
		}
		return 0
	})
	return found
}

// Consumed reads the event ids a group of the worker finished.
func (a *API) Consumed(ctx context.Context, group string) (Consumed, error) {
	var c Consumed
	err := a.do(ctx, http.MethodGet, "/admin/consumed?group="+url.QueryEscape(group), nil, &c)
	return c, err
}

// SetMembers resizes one group of the worker ("" = every group, and the
// size groups start with).
func (a *API) SetMembers(ctx context.Context, group string, members int) error {
	body := map[string]any{"members": members}
	if group != "" {
		body["group"] = group
	}
	return a.do(ctx, http.MethodPut, "/admin/members", body, nil)
}

// DeadLetters is what a worker's dead-letter topic holds since the last
// reset: every record's id, and how many were replayed.
type DeadLetters struct {
	Records  int64   `json:"records"`
	Replayed int64   `json:"replayed"`
	Waiting  int64   `json:"waiting"`
	IDs      []int64 `json:"ids"`
}

func (a *API) DeadLetters(ctx context.Context) (DeadLetters, error) {
	var d DeadLetters
	err := a.do(ctx, http.MethodGet, "/admin/dead-letters", nil, &d)
	return d, err
}

// ReplayDeadLetters moves the dead letters not yet replayed back to the
// worker's topic, and returns how many.
func (a *API) ReplayDeadLetters(ctx context.Context) (int, error) {
	var out struct {
		Replayed int `json:"replayed"`
	}
	err := a.do(ctx, http.MethodPost, "/admin/dead-letters/replay", nil, &out)
	return out.Replayed, err
}
