// Package config checks the values of a service's command-line flags and
// runtime settings, so bad input is refused with a message naming the flag
// or setting instead of being replaced by a silent default. Each check
// prints name as given: "--db-pool" for a flag, "query_cost" for a setting.
package config

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// HostPort checks a HOST:PORT address to dial, with a numeric port in 1..65535.
func HostPort(name, v string) error { return hostPort(name, v, false) }

// ListenAddr checks a HOST:PORT address to listen on; an empty host (":8080")
// means every interface.
func ListenAddr(name, v string) error { return hostPort(name, v, true) }

func hostPort(name, v string, emptyHost bool) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%s %q: want HOST:PORT", name, v)
	}
	if host == "" && !emptyHost {
		return fmt.Errorf("%s %q: host is empty", name, v)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%s %q: port must be a number in 1..65535", name, v)
	}
	return nil
}

// Required checks that a string flag was given.
func Required(name, v string) error {
	if v == "" {
		return fmt.Errorf("%s is required", name)
	}
	return nil
}

// IntRange checks lo <= v <= hi.
func IntRange(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d: must be in %d..%d", name, v, lo, hi)
	}
	return nil
}

// DurationRange checks lo <= d <= hi.
func DurationRange(name string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return fmt.Errorf("%s %v: must be in %v..%v", name, d, lo, hi)
	}
	return nil
}

// WholeSeconds checks that d is a positive whole number of seconds, as HTTP
// headers such as Retry-After need.
func WholeSeconds(name string, d time.Duration) error {
	if d < time.Second || d%time.Second != 0 {
		return fmt.Errorf("%s %v: must be a whole number of seconds, at least 1s", name, d)
	}
	return nil
}

// DSN parses a Postgres DSN the way the pool will, without connecting.
func DSN(name, dsn string) error {
	if _, err := pgxpool.ParseConfig(dsn); err != nil {
		return fmt.Errorf("%s: invalid Postgres DSN: %v", name, err)
	}
	return nil
}
