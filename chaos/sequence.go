package chaos

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// Sequence is one fault made of several: Inject injects them in order,
// Recover recovers them in reverse order. If one Inject fails, Sequence
// recovers at once what it had started (the failed one included, since it
// may be partial) so the system is not left half broken.
func Sequence(faults ...Fault) Fault {
	return &sequence{faults: faults}
}

type sequence struct {
	faults []Fault

	mu      sync.Mutex
	started int // faults[:started] had Inject called and are not yet recovered
}

func (s *sequence) Name() string {
	names := make([]string, len(s.faults))
	for i, f := range s.faults {
		names[i] = f.Name()
	}
	return "sequence(" + strings.Join(names, ", ") + ")"
}

func (s *sequence) Inject(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if s.started < i+1 {
			s.started = i + 1
		}
		if err := f.Inject(ctx); err != nil {
			return errors.Join(err, s.recover(ctx))
		}
	}
	return nil
}

func (s *sequence) Recover(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recover(ctx)
}

// recover recovers every started fault, in reverse, even past a failure:
// a stuck fault must not keep the others in place. It forgets them only
// when all recovered, so a retry covers the stuck ones again.
func (s *sequence) recover(ctx context.Context) error {
	var errs []error
	for i := s.started - 1; i >= 0; i-- {
		if err := s.faults[i].Recover(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		s.started = 0
	}
	return errors.Join(errs...)
}
