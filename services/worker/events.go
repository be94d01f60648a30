package main

import (
	"context"
	"fmt"

	"github.com/whatif-lab/whatif/services/internal/protections"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

// The events pipeline is the seed's scenario 3: every event feeds a
// real-time notification (fast) and an analytics write to the database
// (slow: one write per record, holding its connection record_cost).
// Without split_groups one group does both, so notifications wait behind
// the database; with it each has its own group and its own lag.
var eventsPipeline = pipeline{
	topic:       "events",
	protections: []string{protSplitGroups, protAutoscale},
	schema: `CREATE TABLE IF NOT EXISTS event_analytics (
		grp text NOT NULL,
		event_id bigint NOT NULL,
		writes int NOT NULL DEFAULT 1,
		PRIMARY KEY (grp, event_id))`,
	reset: `TRUNCATE event_analytics`,
	groups: func(p *protections.Set) []groupPlan {
		if p.On(protSplitGroups) {
			return []groupPlan{
				{name: "notify", steps: []step{notify}},
				{name: "analytics", steps: []step{analyticsWrite}},
			}
		}
		return []groupPlan{{name: "events", steps: []step{notify, analyticsWrite}}}
	},
}

// notify stands in for pushing a notification: no cost of its own; its
// delivery delay is what the member measures after the group's steps.
func notify(context.Context, stepEnv, event) error { return nil }

// analyticsWrite records the event once per group (a repeat counts in
// writes) and holds the connection record_cost: a stand-in for a heavier
// write (pg_sleep holds a real backend and connection, no CPU).
func analyticsWrite(ctx context.Context, env stepEnv, ev event) error {
	cost := env.settings.get(knob.RecordCost).Seconds()
	_, err := env.db.Exec(ctx, `WITH w AS (
			INSERT INTO event_analytics (grp, event_id) VALUES ($1, $2)
			ON CONFLICT (grp, event_id) DO UPDATE SET writes = event_analytics.writes + 1
			RETURNING 1)
		SELECT pg_sleep($3) FROM w`, env.group, ev.id, cost)
	if err != nil {
		return fmt.Errorf("analytics write of event %d: %w", ev.id, err)
	}
	return nil
}
