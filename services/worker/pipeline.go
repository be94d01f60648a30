package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/whatif-lab/whatif/services/internal/protections"
)

// A pipeline is the work one worker pool does: which consumer groups read
// its topic, and what each does with a record.
type pipeline struct {
	topic       string // "": none (no broker, no groups: the pipeline is its routes)
	locks       bool   // the work takes seat locks (--redis or --etcd)
	pgConns     int    // bound of the Postgres pool; 0: workerPGConns
	protections []string
	schema      string // run at start
	reset       string // run on /admin/reset
	groups      func(p *protections.Set) []groupPlan
	// gated: the work needs an encoder from the worker's gate, whose size
	// is the pool's capacity (autoscale grows it); members only read.
	gated bool
	// routes adds the pipeline's public endpoints (nil: none).
	routes func(w *worker, mux *http.ServeMux)
	// deadLetter is the pipeline's dead-letter topic ("": none). With
	// dead_letter on, a record whose step fails deadLetterAfter times in a
	// row goes there, and its partition moves on.
	deadLetter string
	// commitEvery commits finished records on a timer, as Kafka's
	// consumers do by default (auto.commit.interval.ms), instead of after
	// each poll: a crash then repeats what was finished since.
	commitEvery time.Duration
	// loop runs beside the groups, restarted with them (the CDC
	// connector's stream); nil: none.
	loop func(w *worker, ctx context.Context)
	// alarm is the pipeline's page, evaluated while its protection is on
	// (zero: none).
	alarm alarm
}

// alarm is a page: cause says why it fires now ("": it does not).
type alarm struct {
	protection string
	cause      func(w *worker, ctx context.Context) string
}

// groupPlan is one consumer group and its steps, run in order per record.
type groupPlan struct {
	name  string
	steps []step
}

// A step is one piece of work on a record. It returns an error to have the
// record tried again (the member backs off); it is never skipped.
type step func(ctx context.Context, env stepEnv, ev event) error

// stepEnv is what a step may use.
type stepEnv struct {
	group    string
	db       *pgxpool.Pool
	settings *settings
	prot     *protections.Set
	gate     *gate     // nil unless the pipeline is gated
	pay      *payments // nil unless the payments pipeline
}

// event is a record as the pipelines read it: its key is the event's
// decimal id (the load generator's), its timestamp when it was produced.
// Records of the CDC topic also carry headers: what the event is
// (kind), who published it (source) and when it happened (at).
type event struct {
	id        int64
	partition int32
	produced  time.Time
	kind      string
	source    string
	at        time.Time // zero without an "at" header
}

func decodeEvent(r *kgo.Record) (event, error) {
	id, err := strconv.ParseInt(string(r.Key), 10, 64)
	if err != nil || id < 0 {
		return event{}, fmt.Errorf("record key %q is not an event id", r.Key)
	}
	ev := event{id: id, partition: r.Partition, produced: r.Timestamp}
	for _, h := range r.Headers {
		switch h.Key {
		case headerKind:
			ev.kind = string(h.Value)
		case headerSource:
			ev.source = string(h.Value)
		case headerAt:
			ns, err := strconv.ParseInt(string(h.Value), 10, 64)
			if err != nil {
				return event{}, fmt.Errorf("record %d: header %s %q is not unix nanoseconds", id, headerAt, h.Value)
			}
			ev.at = time.Unix(0, ns)
		}
	}
	return ev, nil
}

// Header names of the CDC topic's records.
const (
	headerKind   = "kind"
	headerSource = "source"
	headerAt     = "at"
)

const pipelineEvents = "events"

const pipelineEncode = "encode"

const pipelineFiles = "files"

const pipelinePayments = "payments"

const pipelineCDC = "cdc"

const pipelineBooking = "booking"

var pipelines = map[string]pipeline{
	pipelineEvents:   eventsPipeline,
	pipelineEncode:   encodePipeline,
	pipelineFiles:    filesPipeline,
	pipelinePayments: paymentsPipeline,
	pipelineCDC:      cdcPipeline,
	pipelineBooking:  bookingPipeline,
}

func pipelineNames() []string {
	var n []string
	for k := range pipelines {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// pipelineProtections lists each pipeline's protections, for --help.
func pipelineProtections() string {
	var out []string
	for _, n := range pipelineNames() {
		out = append(out, n+": "+strings.Join(pipelines[n].protections, ", "))
	}
	return strings.Join(out, "; ")
}
