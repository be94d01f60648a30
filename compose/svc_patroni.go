package compose

import (
	"encoding/json"
	"fmt"
	"path"
)

const (
	SvcPG0          = "pg0"
	SvcPG1          = "pg1"
	LinkPatroniEtcd = "patroni_etcd" // patroni -> etcd
	// The standby's links to a node, apart from HAProxy's: streaming
	// replication, pg_rewind and base backups. An experiment can put the
	// standby at a distance (latency) without slowing the clients' path.
	LinkReplPG0 = "repl_pg0" // pg1 -> pg0
	LinkReplPG1 = "repl_pg1" // pg0 -> pg1
)

// PatroniTimers are Patroni's DCS timers, in seconds. Patroni requires
// LoopWait + 2*RetryTimeout <= TTL. Measured here: at 5/1/2 a killed leader
// is replaced in about 4.8 s; RetryTimeout 1 breaks failover.
type PatroniTimers struct {
	TTL, LoopWait, RetryTimeout int
}

// DefaultPatroniTimers are the timers of both backends unless set otherwise.
var DefaultPatroniTimers = PatroniTimers{TTL: 5, LoopWait: 1, RetryTimeout: 2}

// Validate rejects timers Patroni would refuse or fail over badly with.
func (t PatroniTimers) Validate() error {
	if t.TTL <= 0 || t.LoopWait <= 0 || t.RetryTimeout <= 0 || t.LoopWait+2*t.RetryTimeout > t.TTL {
		return fmt.Errorf("Patroni timers %+v: need positive values with LoopWait+2*RetryTimeout <= TTL", t)
	}
	return nil
}

// PatroniBackend is what a backend's Addressing adds for the Patroni
// nodes: the timers it runs with and how a node bootstraps (local mode
// copies one template; each container runs its own initdb).
type PatroniBackend interface {
	PatroniTimers() PatroniTimers
	// PatroniBootstrap returns the bootstrap section's method keys; nil
	// means Patroni's own initdb.
	PatroniBootstrap(node string) map[string]any
}

// PatroniScope is the Patroni cluster name (also postgres' cluster_name,
// which shows in every backend's process title).
func PatroniScope(base int) string { return fmt.Sprintf("whatif-%d", base) }

// PGNodes are the Patroni nodes, each with the link HAProxy reaches it
// through (Link) and the one the other node replicates from it through
// (Repl).
var PGNodes = []struct{ Name, Link, Repl string }{{SvcPG0, LinkHAPG0, LinkReplPG0}, {SvcPG1, LinkHAPG1, LinkReplPG1}}

// ReplLink is the link the other node replicates from node through.
func ReplLink(node string) string {
	for _, n := range PGNodes {
		if n.Name == node {
			return n.Repl
		}
	}
	panic("compose: not a Patroni node: " + node)
}

func patroniNode(name string, offset int) Spec {
	// the standby dials its peer's replication link
	peer := map[string]string{SvcPG0: SvcPG1, SvcPG1: SvcPG0}[name]
	repl := Dial{ReplLink(peer), peer, "main"}
	return Spec{
		Name:    name,
		Offsets: map[string]int{"main": offset, "rest": offset + 1},
		// pg1 shares pg0's link to etcd: one proxy cuts Patroni off its DCS.
		Dials:      append(dialsIf(name == SvcPG0, Dial{LinkPatroniEtcd, SvcEtcd, "main"}), repl),
		Needs:      []string{SvcEtcd},
		Image:      ImageDebian,
		AsPostgres: true,
		State:      true,
		Health:     Health{Kind: HealthPatroni},
		Command:    func(a Addressing) []string { return []string{"patroni", ConfigFile(a, name, "patroni.yml")} },
		Files: func(a Addressing) map[string]string {
			return map[string]string{"patroni.yml": patroniConfig(a, name)}
		},
	}
}

var (
	pg0 = patroniNode(SvcPG0, 30)
	pg1 = patroniNode(SvcPG1, 32)
)

func dialsIf(ok bool, d ...Dial) []Dial {
	if ok {
		return d
	}
	return nil
}

// patroniConfig renders one node's config as JSON, which Patroni's YAML
// loader reads as is; JSON quoting keeps paths safe.
func patroniConfig(a Addressing, node string) string {
	timers, bootstrap := DefaultPatroniTimers, map[string]any(nil)
	if pb, ok := a.(PatroniBackend); ok {
		timers, bootstrap = pb.PatroniTimers(), pb.PatroniBootstrap(node)
	}
	link := ReplLink(node)
	dir := a.Dir(node)
	boot := map[string]any{
		"dcs": map[string]any{
			"ttl":                     timers.TTL,
			"loop_wait":               timers.LoopWait,
			"retry_timeout":           timers.RetryTimeout,
			"maximum_lag_on_failover": 1 << 20,
			"postgresql": map[string]any{
				"use_pg_rewind": true,
				// No slots: a primary_slot_name left over from the old
				// timeline breaks the old leader's rejoin (measured).
				"use_slots": false,
				"parameters": map[string]any{
					// logical: the CDC connector (cdc-down) reads a
					// logical replication slot
					"wal_level":     "logical",
					"wal_log_hints": "on",
					"hot_standby":   "on",
					// slow-query's fill writes ~1 GB of WAL in seconds; with no
					// slot (below) a replica that fell further behind than this
					// found its next segment removed and never caught up (seen
					// at full scale under background load: "requested WAL
					// segment ... has already been removed").
					"wal_keep_size":   "2GB",
					"max_wal_senders": 10,
					"max_connections": PGMaxConnections,
					// A standby whose WAL source failed retries after 5 s by
					// default: that dominated rejoin after pg_rewind.
					"wal_retrieve_retry_interval": "500ms",
				},
			},
		},
	}
	if bootstrap == nil {
		boot["initdb"] = []any{map[string]any{"encoding": "UTF8"}, map[string]any{"locale": "C.UTF-8"}, "no-sync"}
	}
	for k, v := range bootstrap {
		boot[k] = v
	}
	cfg := map[string]any{
		"scope":     PatroniScope(a.Base()),
		"namespace": "/whatif/",
		"name":      node,
		"log":       map[string]any{"level": "INFO"},
		"restapi": map[string]any{
			"listen":          a.Listen(node, "rest"),
			"connect_address": a.Reach(node, "rest"),
		},
		// v2 API (see etcd); Patroni dials the proxy, never etcd itself.
		"etcd":      map[string]any{"host": a.Link(LinkPatroniEtcd)},
		"bootstrap": boot,
		"postgresql": map[string]any{
			"listen":          a.Listen(node, "main"),
			"connect_address": a.Link(link), // the standby replicates through Toxiproxy
			"data_dir":        path.Join(dir, "data"),
			"bin_dir":         PGBinDir,
			"pgpass":          ConfigFile(a, node, "pgpass"),
			"authentication": map[string]any{
				"superuser":   map[string]any{"username": "postgres"},
				"replication": map[string]any{"username": "postgres"},
				"rewind":      map[string]any{"username": "postgres"},
			},
			// Only loopback (local) or the project network (compose)
			// reaches these ports.
			"pg_hba": []string{
				"local all all trust",
				"host all all 0.0.0.0/0 trust",
				"host replication all 0.0.0.0/0 trust",
			},
			// The last resort of a rejoin: when the old leader's timeline has
			// diverged and pg_rewind cannot run (seen under compose: Patroni
			// started it as a replica on the old timeline, Postgres refused
			// "timeline 2 is not a child of this server's history" forever),
			// wipe the data dir and clone it again from the leader.
			"remove_data_directory_on_rewind_failure":     true,
			"remove_data_directory_on_diverged_timelines": true,
			// A fast checkpoint and no fsync of the copy: a replica is
			// cloned in well under a second instead of a few.
			"basebackup": []any{map[string]any{"checkpoint": "fast"}, "no-sync"},
			"parameters": map[string]any{
				"unix_socket_directories": a.ConfigDir(node),
				// every autovacuum in the log: one landing mid-fault is a
				// latency spike an experiment must be able to explain
				"log_autovacuum_min_duration": 0,
				// Dynamic shared memory in files under the data dir, not
				// /dev/shm/PostgreSQL.*: a SIGKILLed postmaster (db-failover)
				// left its segments behind there, ~1 MB each, for good; the
				// data dir is on tmpfs already and goes with the stack.
				"dynamic_shared_memory_type": "mmap",
			},
		},
		// No kernel watchdog here. Patroni still checks its timing on every
		// cycle as leader and, with the default safety margin of 5 s > ttl,
		// logs a warning each time; margin -1 (= ttl/2) keeps the log quiet.
		"watchdog": map[string]any{"mode": "off", "safety_margin": -1},
		"tags":     map[string]any{"nofailover": false, "noloadbalance": false, "clonefrom": false, "nosync": false},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		panic("compose: patroni config: " + err.Error()) // maps of plain values always marshal
	}
	return string(b)
}

// PGBinDir is where Debian's postgresql-15 keeps its binaries.
const PGBinDir = "/usr/lib/postgresql/15/bin"
