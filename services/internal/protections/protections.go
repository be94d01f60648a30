// Package protections holds a service's named mitigation switches. They are
// runtime switches, not build options, so one running stack serves both the
// protected and the unprotected variant of an experiment.
package protections

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// UnknownError reports names that are not protections of this service.
type UnknownError struct {
	Unknown []string
	Valid   []string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown protection(s) %s; valid names: %s",
		strings.Join(e.Unknown, ", "), strings.Join(e.Valid, ", "))
}

// Set is a fixed collection of named on/off switches, safe for concurrent
// use. The map of switches is built once and never changes shape, so reads
// need no lock; Apply serialises writers so a multi-switch update is not
// interleaved with another.
type Set struct {
	names []string // sorted
	on    map[string]*atomic.Bool
	mu    sync.Mutex
}

// New returns a Set of the given names, all off. Names must be unique and
// non-empty; anything else is a programming error and returns an error.
func New(names ...string) (*Set, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("protections: no names")
	}
	s := &Set{on: make(map[string]*atomic.Bool, len(names))}
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, ", \t") {
			return nil, fmt.Errorf("protections: invalid name %q", n)
		}
		if _, dup := s.on[n]; dup {
			return nil, fmt.Errorf("protections: duplicate name %q", n)
		}
		s.on[n] = new(atomic.Bool)
		s.names = append(s.names, n)
	}
	sort.Strings(s.names)
	return s, nil
}

// Names returns the valid names, sorted.
func (s *Set) Names() []string { return append([]string(nil), s.names...) }

// On reports whether the named protection is on. An unknown name is off.
func (s *Set) On(name string) bool {
	b, ok := s.on[name]
	return ok && b.Load()
}

// Snapshot returns every protection and its state.
func (s *Set) Snapshot() map[string]bool {
	m := make(map[string]bool, len(s.names))
	for _, n := range s.names {
		m[n] = s.on[n].Load()
	}
	return m
}

// Apply sets the given switches and leaves the others alone. Every name is
// checked before anything changes, so a bad update changes nothing.
func (s *Set) Apply(update map[string]bool) error {
	if err := s.check(keys(update)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, v := range update {
		s.on[n].Store(v)
	}
	return nil
}

// Parse turns "all", "none" or a comma list of names into a full
// assignment of every protection (listed names on, the rest off).
func (s *Set) Parse(spec string) (map[string]bool, error) {
	spec = strings.TrimSpace(spec)
	all := make(map[string]bool, len(s.names))
	for _, n := range s.names {
		all[n] = false
	}
	switch spec {
	case "all":
		for n := range all {
			all[n] = true
		}
		return all, nil
	case "none":
		return all, nil
	case "":
		return nil, fmt.Errorf(`empty protections: use "all", "none" or a comma list of: %s`,
			strings.Join(s.names, ", "))
	}
	var listed []string
	for _, part := range strings.Split(spec, ",") {
		n := strings.TrimSpace(part)
		if n == "" {
			return nil, fmt.Errorf("empty name in protections list %q", spec)
		}
		listed = append(listed, n)
	}
	if err := s.check(listed); err != nil {
		return nil, err
	}
	for _, n := range listed {
		all[n] = true
	}
	return all, nil
}

func (s *Set) check(names []string) error {
	var unknown []string
	for _, n := range names {
		if _, ok := s.on[n]; !ok {
			unknown = append(unknown, n)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return &UnknownError{Unknown: unknown, Valid: s.Names()}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
