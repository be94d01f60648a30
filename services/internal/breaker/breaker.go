// Package breaker is a circuit breaker for calls to one dependency.
//
// Closed: calls pass and their outcomes are counted in a rolling window.
// When the window holds at least MinCalls calls and at least FailureRatio
// of them failed (an error, or slower than SlowCall), it opens.
// Open: calls are rejected at once, giving the dependency room to recover.
// After Cooldown the next Allow turns it half-open.
// Half-open: exactly one probe call passes; its success closes the breaker,
// its failure opens it again for another cooldown.
package breaker

import (
	"fmt"
	"sync"
	"time"
)

// State of a breaker.
type State int

const (
	Closed State = iota
	Open
	HalfOpen
)

func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Outcome of an admitted call.
type Outcome int

const (
	// Success: the dependency answered (a "not found" is a success too).
	Success Outcome = iota
	// Failure: the dependency failed or could not be reached in time.
	Failure
	// Ignore: the call says nothing about the dependency, e.g. the client
	// went away and cancelled it. A half-open probe is released.
	Ignore
)

// Config tunes a breaker. Zero fields take the defaults noted.
type Config struct {
	Window       time.Duration // rolling window, default 1s
	Buckets      int           // window resolution, default 10
	MinCalls     int           // calls in the window before it may open, default 10
	FailureRatio float64       // failed/calls that opens it, default 0.5
	SlowCall     time.Duration // a success slower than this is a failure; 0 = never
	Cooldown     time.Duration // open -> half-open, default 30s
}

func (c *Config) defaults() {
	if c.Window <= 0 {
		c.Window = time.Second
	}
	if c.Buckets <= 0 {
		c.Buckets = 10
	}
	if c.MinCalls <= 0 {
		c.MinCalls = 10
	}
	if c.FailureRatio <= 0 || c.FailureRatio > 1 {
		c.FailureRatio = 0.5
	}
	if c.Cooldown <= 0 {
		c.Cooldown = 30 * time.Second
	}
}

// Ticket is handed out by Allow and must be returned to Done exactly once.
// It carries the generation it was issued in, so outcomes of calls admitted
// before a state change cannot affect the new state.
type Ticket struct {
	gen   uint64
	probe bool
}

// Stats are monotonic counters plus the current state.
type Stats struct {
	State    State
	Opens    int64 // transitions into Open
	Rejected int64 // calls refused while open or while a probe was in flight
}

// Breaker is safe for concurrent use.
type Breaker struct {
	now func() time.Time

	mu       sync.Mutex
	cfg      Config
	state    State
	gen      uint64
	openedAt time.Time
	probing  bool
	win      *window
	opens    int64
	rejected int64
}

// New returns a closed breaker. now is the clock; nil means time.Now.
func New(cfg Config, now func() time.Time) *Breaker {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	return &Breaker{now: now, cfg: cfg, win: newWindow(cfg.Window, cfg.Buckets)}
}

// Allow asks whether a call may go ahead. When ok is false the caller must
// not call the dependency (and must not call Done).
func (b *Breaker) Allow() (t Ticket, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	switch b.state {
	case Closed:
		return Ticket{gen: b.gen}, true
	case HalfOpen:
		if !b.probing {
			b.probing = true
			return Ticket{gen: b.gen, probe: true}, true
		}
	}
	b.rejected++
	return Ticket{}, false
}

// Done reports the outcome of an admitted call and how long it took.
func (b *Breaker) Done(t Ticket, o Outcome, took time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if o == Success && b.cfg.SlowCall > 0 && took > b.cfg.SlowCall {
		o = Failure
	}
	if t.gen != b.gen {
		return // issued before the last state change
	}
	switch b.state {
	case Closed:
		if o == Ignore {
			return
		}
		now := b.now()
		b.win.add(now, o == Failure)
		c := b.win.sum(now)
		if c.calls >= b.cfg.MinCalls && float64(c.failures) >= b.cfg.FailureRatio*float64(c.calls) {
			b.trip(now)
		}
	case HalfOpen:
		if !t.probe {
			return
		}
		switch o {
		case Success:
			b.to(Closed)
		case Failure:
			b.trip(b.now())
		case Ignore:
			b.probing = false
		}
	}
}

// State returns the current state (open turns half-open lazily once the
// cooldown has passed).
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	return b.state
}

// Stats returns counters and state.
func (b *Breaker) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance()
	return Stats{State: b.state, Opens: b.opens, Rejected: b.rejected}
}

// Reset closes the breaker and forgets the window. Counters stay: they are
// monotonic for whoever samples them.
func (b *Breaker) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.to(Closed)
}

// SetCooldown changes how long the breaker stays open; it applies to the
// current open period too.
func (b *Breaker) SetCooldown(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d > 0 {
		b.cfg.Cooldown = d
	}
}

// Cooldown returns the current cooldown.
func (b *Breaker) Cooldown() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg.Cooldown
}

// SetSlowCall changes the slow-call threshold (0 disables it).
func (b *Breaker) SetSlowCall(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cfg.SlowCall = max(d, 0)
}

func (b *Breaker) advance() {
	if b.state == Open && !b.now().Before(b.openedAt.Add(b.cfg.Cooldown)) {
		b.to(HalfOpen)
	}
}

func (b *Breaker) trip(now time.Time) {
	b.to(Open)
	b.openedAt = now
	b.opens++
}

func (b *Breaker) to(s State) {
	b.state = s
	b.gen++
	b.probing = false
	b.win.reset()
}
