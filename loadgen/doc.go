// Package loadgen generates open-loop load and records what happened per
// scheduled second.
//
// Open loop: requests go out on a fixed schedule no matter how fast the
// server answers, and each request's latency is measured from the moment it
// was scheduled, not from when it finally left. A server stall therefore
// shows up as latency for every request that should have been sent during it
// (no coordinated omission). Concurrency is bounded; a request that finds no
// free worker shortly after it became due is counted as dropped instead of
// silently queued.
//
// The pieces compose: an Op performs one attempt, a Client wraps attempts in
// a retry Policy, Run drives a Plan's schedule through a bounded worker pool,
// and a Timeline buckets the results by scheduled second and op.
package loadgen
