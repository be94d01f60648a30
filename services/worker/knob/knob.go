// Package knob is the worker pool's runtime settings: durations that start
// from a flag and change with PUT /admin/settings. The runner checks a
// --set against the same table before any stack starts.
package knob

import (
	"time"

	"github.com/whatif-lab/whatif/services/internal/knobs"
)

// Names, as in PUT /admin/settings.
const (
	RecordCost = "record_cost"
	ScaleLag   = "scale_lag"
	ScaleEvery = "scale_every"
	EncodeUnit = "encode_unit"
	StepCost   = "step_cost"
	AlertAge   = "alert_age"
	CDCAlert   = "cdc_alert_lag"
	Fallback   = "fallback_after"
	LockTTL    = "lock_ttl"
	LockWait   = "acquire_wait"
)

// All is every knob.
var All = knobs.Table{
	{Name: RecordCost, Flag: "record-cost", Def: 10 * time.Millisecond, Lo: 0, Hi: 10 * time.Second,
		Help: "the analytics write holds its DB connection this long per record (pg_sleep, a stand-in: a real " +
			"backend and connection held, no CPU), so one member writes at most 1/record-cost records a second"},
	{Name: ScaleLag, Flag: "scale-lag", Def: time.Second, Lo: 10 * time.Millisecond, Hi: time.Hour,
		Help: "with autoscale on, a group whose lag is older than this gets one more member " +
			"(the encode pipeline: the encoders double), up to the partitions"},
	{Name: ScaleEvery, Flag: "scale-every", Def: time.Second, Lo: 10 * time.Millisecond, Hi: time.Hour,
		Help: "with autoscale on, how often the lag of each group is compared with scale-lag"},
	{Name: EncodeUnit, Flag: "encode-unit", Def: 4 * time.Millisecond, Lo: 0, Hi: 10 * time.Second,
		Help: "the encode pipeline: how long a 360p rendition holds an encoder (a stand-in: a slot held, no CPU); " +
			"720p, 1080p and 2160p hold it 4, 9 and 36 times as long (their pixel counts), a whole video 50 times"},
	{Name: StepCost, Flag: "step-cost", Def: 5 * time.Millisecond, Lo: 0, Hi: 10 * time.Second,
		Help: "the files pipeline: how long each of its three steps holds the member beyond its real work " +
			"(a stand-in for a virus scan, the part of a resize past decoding, a moderation call: no CPU)"},
	{Name: AlertAge, Flag: "alert-age", Def: 10 * time.Second, Lo: 10 * time.Millisecond, Hi: time.Hour,
		Help: "with depth_alert on, the alert fires while a group's oldest unfinished record is older than this, " +
			"or while the dead-letter topic holds records not replayed"},
	{Name: CDCAlert, Flag: "cdc-alert-lag", Def: 10 * time.Second, Lo: 10 * time.Millisecond, Hi: time.Hour,
		Help: "the payments pipeline, with cdc_lag_alert on: the alert fires while the newest heartbeat row seen " +
			"on the CDC topic was written longer ago than this (the seed's 10 s)"},
	{Name: Fallback, Flag: "fallback-after", Def: 2 * time.Second, Lo: 10 * time.Millisecond, Hi: time.Hour,
		Help: "the payments pipeline, with fallback_publish on: a critical payment the CDC topic has not shown " +
			"this long after it was written is published by the application itself"},
	{Name: LockTTL, Flag: "lock-ttl", Def: time.Second, Lo: 10 * time.Millisecond, Hi: time.Hour,
		Help: "the booking pipeline: a seat lock expires this long after it was taken (or, with lease_renewal on, " +
			"last renewed: every third of it while its holder runs)"},
	{Name: LockWait, Flag: "acquire-wait", Def: 3 * time.Second, Lo: 0, Hi: time.Hour,
		Help: "the booking pipeline: how long a checkout waits for a held seat lock before it answers 409"},
}
