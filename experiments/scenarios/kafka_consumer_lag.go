package scenarios

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// Scenario 3: a flash sale multiplies the events produced by ten; the
// consumers, whose analytics write holds a database connection per event,
// fall behind, and retention deletes what they have not read yet.
const (
	lagRate       = 40 // events/s at normal load
	lagPeakFactor = 3  // a 10x spike on a 10x peak (4,000/s) is past this 2-core box
	lagSpike      = 10
	lagTopic      = "events"
	// lagRetentionShort is the unprotected topic's retention at full time
	// scale, scaled with the phases: half the spike, shorter than the lag
	// the spike builds in front of one member.
	lagRetentionShort = 20 * time.Second
	// lagRetentionLong is the protected topic's: the seed's "retain 4x the
	// worst lag" against a worst lag of well under a minute here.
	lagRetentionLong = 10 * time.Minute
	lagTimeout       = 5 * time.Second
	protRetention    = "retention_headroom"
	protSplit        = "split_groups"
	eventOp          = "event"
)

var kafkaConsumerLag = Experiment{
	Name:     "kafka-consumer-lag",
	Title:    "Kafka consumer lag grows uncontrollably",
	Scenario: 3,
	Shows: "Events go to a 6-partition topic (acks=all, idempotent). Every event feeds a notification (no cost) and " +
		"an analytics row in Postgres whose write holds its connection 10 ms (pg_sleep: a real connection, no CPU), " +
		"so one consumer-group member finishes at most ~90 events/s. The fault is a flash sale: 10x the events. " +
		"Unprotected: one fixed member, one group doing both, topic retention shorter than the lag the sale " +
		"builds: notifications go stale and retention deletes events before they are read, found by the audit " +
		"(every acknowledged id against what the group finished). Protected (the seed's): lag in seconds drives " +
		"members up to the partition count, notifications in their own group, retention with headroom: 0 lost, " +
		"notifications within 1 s, the analytics backlog drained soon after the sale.",
	Services: []string{compose.SvcBroker, compose.SvcWorker},
	Workers:  []string{compose.SvcWorker},
	Load: Load{
		Rate:        lagRate,
		PeakFactor:  lagPeakFactor,
		MaxInFlight: 2000,
		Ops: func(e *Env) []loadgen.Weighted {
			return []loadgen.Weighted{{Op: eventProducer(e), Weight: 1}}
		},
		Policy: func(*Env) loadgen.Policy { return loadgen.Policy{Timeout: lagTimeout} },
	},
	Mitigation:        []string{protSplit, "autoscale", protRetention},
	RunnerProtections: []string{protRetention},
	Phases:            Phases{Baseline: 40 * time.Second, Fault: 40 * time.Second, Recovery: 40 * time.Second},
	Prepare:           prepareLag,
	Fault: func(e *Env) chaos.Fault {
		return loadSpike(e, lagSpike*e.Run.Rate, nil)
	},
	Audit: auditLag,
	Watch: []string{"worker.groups.events.records", "worker.groups.notify.records", "worker.groups.analytics.records"},
	Gauges: []string{"worker.depth", "worker.groups.events.lag.seconds", "worker.groups.notify.lag.seconds",
		"worker.groups.analytics.lag.seconds", "worker.groups.events.members", "worker.groups.analytics.members"},
	Cascade: []Check{
		AtLeast("acknowledged events lost (deleted by retention before they were read)", Fact("events_lost"), 1, Count),
		AtMost("notifications delivered within 1 s of production", Fact("notify_within_1s"), 0.5, Percent),
	},
	Holds: []Check{
		AtMost("acknowledged events lost", Fact("events_lost"), 0, Count),
		AtMost("acknowledged events finished twice", Fact("events_duplicated"), 0, Count),
		AtLeast("notifications delivered within 1 s of production", Fact("notify_within_1s"), 0.99, Percent),
		// the alert fires at 1 s of lag (scale_lag), checked every second on
		// lags the worker reads every 500 ms, seen here in 1 s samples
		AtMost("lag seen and members added after the sale began, within", untilIncrease("worker.groups.analytics.scale_ups", "worker.groups.events.scale_ups"), 4, Seconds),
		AtMost("analytics backlog drained after the sale / the sale's length", Measure(drainPerFault), 3, Ratio),
	},
}

// eventProducer produces the run's events; its client is closed with the run.
func eventProducer(e *Env) loadgen.Op {
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Stack.ClientAddr(compose.SvcBroker, "main")), kgo.Dialer(e.Stack.DialContext),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DefaultProduceTopic(lagTopic))
	if err != nil {
		// kgo checks only its options, fixed here; were they refused,
		// every produce fails and says why
		return loadgen.FuncOp(eventOp, func(context.Context, uint64) loadgen.Result {
			return loadgen.Result{Op: eventOp, Err: err.Error(), ErrClass: loadgen.ClassOther}
		})
	}
	e.OnClose(cl.Close)
	return &loadgen.ProduceOp{OpName: eventOp, Client: cl, Topic: lagTopic}
}

// prepareLag sets the topic's retention for the run and starts every group
// with one member.
func prepareLag(ctx context.Context, e *Env) error {
	retention := lagRetentionLong
	if !e.On(protRetention) {
		retention = time.Duration(float64(lagRetentionShort) * e.Scale)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.Stack.ClientAddr(compose.SvcBroker, "main")), kgo.Dialer(e.Stack.DialContext))
	if err != nil {
		return err
	}
	defer cl.Close()
	ms := strconv.FormatInt(retention.Milliseconds(), 10)
	res, err := kadm.NewClient(cl).AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &ms}}, lagTopic)
	if err == nil {
		var one kadm.AlterConfigsResponse
		if one, err = res.On(lagTopic, nil); err == nil {
			err = one.Err
		}
	}
	if err != nil {
		return fmt.Errorf("retention.ms of %s: %w", lagTopic, err)
	}
	e.Run.Notes = append(e.Run.Notes, fmt.Sprintf("topic retention %v", retention))
	return e.Worker(compose.SvcWorker).SetMembers(ctx, "", 1)
}

// lagGroups are the groups a run's pipeline runs: the slow one last.
func lagGroups(e *Env) []string {
	if e.On(protSplit) {
		return []string{"notify", "analytics"}
	}
	return []string{"events"}
}

// auditLag waits until every group has finished what the broker holds,
// then accounts for every acknowledged event in each group.
func auditLag(ctx context.Context, e *Env, r *Run) error {
	w := e.Worker(compose.SvcWorker)
	groups := lagGroups(e)
	behind, nums, err := backlogDrained(ctx, e, r, compose.SvcWorker, groups)
	if err != nil {
		return err
	}
	notify := groups[0]
	total := nums["groups."+notify+".delay.+Inf"]
	if total == 0 {
		return fmt.Errorf("group %s finished no event", notify)
	}
	r.SetFact("notify_within_1s", nums["groups."+notify+".delay.1s"]/total)
	if behind != "" {
		// what is still unread cannot be told lost from late
		r.Notes = append(r.Notes, "events not audited: "+behind)
		return nil
	}

	acked := e.Ledger.Acked(eventOp)
	var lost, dup, unacked float64
	for _, g := range groups {
		c, err := w.Consumed(ctx, g)
		if err != nil {
			return err
		}
		a, err := AuditEvents(acked, c)
		if err != nil {
			return fmt.Errorf("group %s: %w", g, err)
		}
		r.SetFact("events_lost."+g, float64(a.Lost))
		r.SetFact("events_duplicated."+g, float64(a.Duplicated))
		lost, dup, unacked = lost+float64(a.Lost), dup+float64(a.Duplicated), max(unacked, float64(a.Unacked))
	}
	r.SetFact("events_acked", float64(len(acked)))
	r.SetFact("events_lost", lost)
	r.SetFact("events_duplicated", dup)
	r.SetFact("events_unacked_consumed", unacked)
	return nil
}
