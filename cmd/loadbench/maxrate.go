package main

import (
	"context"
	"runtime"
	"time"
)

// A rate passes when at least 99% of it is achieved as successful answers
// and at most 1% of the offered requests never went out.
const (
	minAchieved = 0.99
	maxNotSent  = 0.01
)

type searchStep struct {
	Rate     int
	Pass     bool
	Achieved float64 // share of the rate answered OK
	NotSent  float64 // share of the offered requests never sent
}

// rateSearch looks for the highest passing rate: doubling from the start
// rate until a failure, then bisecting to within 5%. A failing rate is tried
// once more before it counts, so that one hiccup of a shared box does not
// decide the result.
type rateSearch struct {
	ceiling    int
	rate       int // next rate to try
	lo, hi     int // highest pass; lowest confirmed failure (0 = none yet)
	failedOnce bool
	done       bool
	steps      []searchStep
}

func newRateSearch(start, ceiling int) *rateSearch {
	return &rateSearch{rate: start, ceiling: ceiling}
}

func (s *rateSearch) report(st searchStep) {
	s.steps = append(s.steps, st)
	switch {
	case st.Pass:
		s.lo, s.failedOnce = st.Rate, false
	case !s.failedOnce:
		s.failedOnce = true
		return // same rate again
	default:
		s.hi, s.failedOnce = st.Rate, false
	}
	switch {
	case s.hi == 0:
		s.rate *= 2
		s.done = s.rate > s.ceiling
	case s.hi-s.lo <= s.hi/20 || (s.lo+s.hi)/2 == s.lo:
		s.done = true
	default:
		s.rate = (s.lo + s.hi) / 2
	}
}

// searchMaxRates runs one search per generator, interleaving their steps so
// that both see the same background load of the machine, until every search
// is done or the budget would be exceeded by another step.
func searchMaxRates(ctx context.Context, gens []generator, base load, start, ceiling int, budget time.Duration) ([]*rateSearch, error) {
	deadline := time.Now().Add(budget)
	searches := make([]*rateSearch, len(gens))
	for i := range searches {
		searches[i] = newRateSearch(start, ceiling)
	}
	for stepped := true; stepped; {
		stepped = false
		for i, gen := range gens {
			s := searches[i]
			if s.done || time.Now().Add(base.Duration).After(deadline) {
				continue
			}
			st, err := tryRate(ctx, gen, base, s.rate)
			if err != nil {
				return searches, err
			}
			s.report(st)
			stepped = true
		}
	}
	return searches, nil
}

func tryRate(ctx context.Context, gen generator, base load, rate int) (searchStep, error) {
	l := base
	l.Rate = rate
	o, err := gen(ctx, l)
	if err != nil {
		return searchStep{}, err
	}
	st := searchStep{Rate: rate, Achieved: o.achieved(l.Duration) / float64(rate), NotSent: o.notSent()}
	st.Pass = st.Achieved >= minAchieved && st.NotSent <= maxNotSent
	runtime.GC() // do not bill this step's garbage to the next one
	return st, nil
}
