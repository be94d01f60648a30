package chaos_test

import (
	"context"
	"errors"
	"sync"
)

var errBoom = errors.New("boom")

// fakeFault records calls and fails the first injectFails injects and the
// first recoverFails recovers. A failed inject still counts as "in place",
// like a partial inject.
type fakeFault struct {
	name                      string
	injectFails, recoverFails int
	log                       *callLog

	mu                  sync.Mutex
	injects, recovers   int
	inPlace             bool
	injectWhileInPlace  int // contract violations seen
	recoverWhileNothing int // recovers with nothing in place (allowed, counted)
}

func (f *fakeFault) Name() string { return f.name }

func (f *fakeFault) Inject(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log.add("inject " + f.name)
	f.injects++
	if f.inPlace {
		f.injectWhileInPlace++
	}
	f.inPlace = true
	if f.injectFails > 0 {
		f.injectFails--
		return errBoom
	}
	return nil
}

func (f *fakeFault) Recover(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log.add("recover " + f.name)
	f.recovers++
	if !f.inPlace {
		f.recoverWhileNothing++
	}
	if f.recoverFails > 0 {
		f.recoverFails--
		return errBoom
	}
	f.inPlace = false
	return nil
}

func (f *fakeFault) counts() (injects, recovers int, inPlace bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injects, f.recovers, f.inPlace
}

// callLog records the order of calls across several fakes; nil is a no-op.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

func (l *callLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}
