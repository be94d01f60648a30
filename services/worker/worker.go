package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/whatif-lab/whatif/services/internal/protections"
)

// worker is one pool: its pipeline's consumer groups over one topic, or
// (a pipeline without a topic) request handlers alone.
type worker struct {
	cfg      flags
	pipe     pipeline
	prot     *protections.Set
	settings *settings
	db       *pgxpool.Pool
	admCl    *kgo.Client
	adm      *kadm.Client
	prod     *kgo.Client // the upload service's producer (acks=all, idempotent); nil without routes
	gate     *gate       // the encoders of a gated pipeline; nil otherwise
	alert    alert
	ctx      context.Context
	conn     *connector // the cdc pipeline's stream state; nil otherwise
	pay      *payments  // the payments pipeline's state; nil otherwise
	book     *booking   // the booking pipeline's locks and counters; nil otherwise

	loopStop context.CancelFunc // the pipeline's loop, while it runs
	loopDone chan struct{}

	mu       sync.Mutex // groups, counters, lag
	groups   map[string]*group
	counters map[string]*memberCounters // per group name, kept across rebuilds: monotonic
	lag      map[string]groupLag
	lagErrs  int64
	depth    int64 // records held by the topic: end - start, summed over partitions
	start    int   // members a group starts with
	parts    int   // the topic's partitions, the ceiling of useful members; set at start
}

func (w *worker) baseMembers() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.start
}

func (w *worker) setBaseMembers(n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.start = n
}

// workerPGConns bounds the worker's Postgres pool.
const workerPGConns = 48

// groupLag is a group's distance behind the topic's end.
type groupLag struct {
	Records int64   `json:"records"`
	Seconds float64 `json:"seconds"` // the oldest production time still unfinished, approximated per partition by the last one finished
}

func newWorker(ctx context.Context, cfg flags) (*worker, error) {
	w := &worker{
		cfg: cfg, pipe: pipelines[cfg.pipeline], prot: newProtections(pipelines[cfg.pipeline].protections), settings: newSettings(cfg.knobs), ctx: ctx,
		groups: map[string]*group{}, counters: map[string]*memberCounters{}, lag: map[string]groupLag{},
		start: cfg.members,
	}
	initial, err := w.prot.Parse(cfg.protections)
	if err != nil {
		return nil, err
	}
	if err := w.prot.Apply(initial); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.pg)
	if err != nil {
		return nil, err
	}
	// enough for a working member per partition of two groups and the
	// upload service's handlers, well under Postgres' max_connections,
	// which the API and Patroni share
	pcfg.MaxConns = workerPGConns
	if w.pipe.pgConns > 0 {
		pcfg.MaxConns = int32(w.pipe.pgConns)
	}
	if w.db, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		return nil, err
	}
	if w.pipe.topic != "" {
		if w.admCl, err = kgo.NewClient(kgo.SeedBrokers(cfg.broker)); err != nil {
			w.db.Close()
			return nil, err
		}
		w.adm = kadm.NewClient(w.admCl)
	}
	if w.pipe.gated {
		w.gate = newGate(cfg.encoders)
	}
	switch cfg.pipeline {
	case pipelineCDC:
		w.conn = &connector{}
	case pipelinePayments:
		w.pay = newPayments()
	case pipelineBooking:
		if w.book, err = newBooking(cfg); err != nil {
			w.close()
			return nil, err
		}
	}
	if w.pipe.routes != nil && w.pipe.topic != "" {
		// kgo produces with acks=all and idempotently unless told otherwise
		if w.prod, err = kgo.NewClient(kgo.SeedBrokers(cfg.broker), kgo.DefaultProduceTopic(cfg.topic)); err != nil {
			w.close()
			return nil, err
		}
	}
	if err := w.prepare(ctx); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

// prepare retries the schema and the topic until both are there or the
// startup timeout passes: the broker and Postgres may start after us.
func (w *worker) prepare(ctx context.Context) error {
	deadline := time.Now().Add(w.cfg.startup)
	for {
		err := w.prepareOnce(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("startup: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (w *worker) prepareOnce(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if w.pipe.schema != "" {
		if _, err := w.db.Exec(cctx, w.pipe.schema); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
	}
	if w.pipe.topic == "" {
		return nil
	}
	if err := w.createTopic(cctx, w.cfg.topic, w.cfg.partitions); err != nil {
		return err
	}
	if w.pipe.deadLetter != "" {
		if err := w.createTopic(cctx, w.pipe.deadLetter, 1); err != nil {
			return err
		}
	}
	// a topic that was there already keeps its own count
	td, err := w.adm.ListTopics(cctx, w.cfg.topic)
	if err != nil {
		return fmt.Errorf("topic %s: %w", w.cfg.topic, err)
	}
	t, ok := td[w.cfg.topic]
	if !ok || t.Err != nil {
		return fmt.Errorf("topic %s: not found (%v)", w.cfg.topic, t.Err)
	}
	w.parts = len(t.Partitions)
	return nil
}

// createTopic creates the topic unless it is there already.
func (w *worker) createTopic(ctx context.Context, topic string, partitions int) error {
	resp, err := w.adm.CreateTopic(ctx, int32(partitions), 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("topic %s: %w", topic, err)
	}
	return nil
}

// rebuild stops every group and starts the pipeline's groups for the
// current protections, each with members members.
func (w *worker) rebuild(members int) error {
	w.stopGroups()
	var errs []error
	for _, plan := range w.pipe.groups(w.prot) {
		w.mu.Lock()
		c := w.counters[plan.name]
		if c == nil {
			c = &memberCounters{}
			w.counters[plan.name] = c
		}
		g := newGroup(w.ctx, w, plan, c)
		w.groups[plan.name] = g
		w.mu.Unlock()
		errs = append(errs, g.resize(members))
	}
	if w.pipe.loop != nil {
		ctx, cancel := context.WithCancel(w.ctx)
		done := make(chan struct{})
		w.mu.Lock()
		w.loopStop, w.loopDone = cancel, done
		w.mu.Unlock()
		go func() { defer close(done); w.pipe.loop(w, ctx) }()
	}
	return errors.Join(errs...)
}

// group returns the named group of the current plan.
func (w *worker) group(name string) (*group, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	g, ok := w.groups[name]
	return g, ok
}

func (w *worker) groupNames() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n []string
	for k := range w.groups {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// reset stops the groups, empties the topic and forgets the groups'
// offsets and the pipeline's table, then starts the groups afresh: a run
// starts from an empty queue and an empty ledger.
func (w *worker) reset(ctx context.Context, members int) error {
	w.stopGroups()
	if w.pipe.topic != "" {
		if err := w.emptyTopic(ctx, w.cfg.topic); err != nil {
			return err
		}
	}
	if names := allGroupNames(w.pipe); len(names) > 0 {
		if _, err := w.adm.DeleteGroups(ctx, names...); err != nil {
			return fmt.Errorf("deleting groups: %w", err)
		}
	}
	if err := w.resetDeadLetters(ctx); err != nil {
		return err
	}
	w.alert.reset()
	if w.pay != nil {
		w.pay.reset()
	}
	if _, err := w.db.Exec(ctx, w.pipe.reset); err != nil {
		return fmt.Errorf("pipeline table: %w", err)
	}
	if w.gate != nil {
		if err := w.gate.reset(w.cfg.encoders); err != nil {
			return err
		}
	}
	return w.rebuild(members)
}

// emptyTopic deletes every record of the topic (DeleteRecords to the end).
func (w *worker) emptyTopic(ctx context.Context, topic string) error {
	ends, err := w.adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("%s end offsets: %w", topic, err)
	}
	del, err := w.adm.DeleteRecords(ctx, ends.Offsets())
	if err == nil {
		err = del.Error()
	}
	if err != nil {
		return fmt.Errorf("emptying %s: %w", topic, err)
	}
	return nil
}

// allGroupNames is every group the pipeline can run, under any setting of
// the protections: a reset forgets the offsets of all of them.
func allGroupNames(p pipeline) []string {
	seen := map[string]bool{}
	var out []string
	for mask := 0; mask < 1<<len(p.protections); mask++ {
		s := newProtections(p.protections)
		for i, n := range p.protections {
			_ = s.Apply(map[string]bool{n: mask&(1<<i) != 0})
		}
		for _, g := range p.groups(s) {
			if !seen[g.name] {
				seen[g.name] = true
				out = append(out, g.name)
			}
		}
	}
	return out
}

// stopGroups stops every running group (each member commits what it
// finished and leaves) and the pipeline's loop, and forgets their lag.
func (w *worker) stopGroups() {
	w.mu.Lock()
	old := w.groups
	w.groups = map[string]*group{}
	w.lag = map[string]groupLag{}
	stop, done := w.loopStop, w.loopDone
	w.loopStop, w.loopDone = nil, nil
	w.mu.Unlock()
	for _, g := range old {
		g.stop()
	}
	if stop != nil {
		stop()
		<-done
	}
}

func (w *worker) close() {
	w.stopGroups()
	if w.prod != nil {
		w.prod.Close()
	}
	if w.admCl != nil {
		w.admCl.Close()
	}
	if w.book != nil {
		w.book.close()
	}
	w.db.Close()
}
