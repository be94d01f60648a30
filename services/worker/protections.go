package main

import (
	"fmt"

	"github.com/whatif-lab/whatif/services/internal/protections"
)

// The worker's protections, named after the seed's preventions; each
// pipeline has its own (pipeline.protections).
const (
	protSplitGroups = "split_groups"      // events: slow work (analytics) in its own consumer group, apart from the fast (notifications)
	protAutoscale   = "autoscale"         // members (events) or encoders (encode) follow the lag, up to the partition count
	protLowestFirst = "lowest_first"      // encode: 360p in its own group, ahead of the others for an encoder
	protProcessing  = "processing_state"  // encode: the status endpoint shows an upload still encoding as "processing"
	protDeadLetter  = "dead_letter"       // files: a record failing 3 times in a row goes to the dead-letter topic, and its partition moves on
	protIdempotent  = "idempotent_steps"  // files: a step looks for its own done-marker before it acts
	protDepthAlert  = "depth_alert"       // files: an alert while the queue's oldest record is older than alert_age or dead letters wait
	protCDCAlert    = "cdc_lag_alert"     // payments: an alert while the newest heartbeat seen on the CDC topic is older than cdc_alert_lag
	protFallback    = "fallback_publish"  // payments: the application publishes a critical payment the CDC topic has not shown within fallback_after
	protIdemAudit   = "idempotent_audit"  // payments: the audit writes an event only if its payment has no audit row yet
	protDurableSlot = "durable_slot"      // cdc: a permanent slot, told flushed only what the broker acknowledged
	protStandby     = "standby_connector" // cdc: the second connector waits on the slot and takes it over when the first's session ends
	protFencing     = "fencing_token"     // booking: the lock's token goes with the seat's read and write; the database refuses an older one
	protRenewal     = "lease_renewal"     // booking: a checkout renews its seat lock every third of its ttl while it runs
	protFailClosed  = "fail_closed"       // booking: a checkout that cannot reach the lock service answers 503 before it charges
)

func newProtections(names []string) *protections.Set {
	s, err := protections.New(names...)
	if err != nil {
		panic(fmt.Sprintf("pipeline protections %v: %v", names, err)) // the lists are constants
	}
	return s
}
