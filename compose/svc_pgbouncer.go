package compose

import (
	"fmt"
	"strings"
)

const (
	SvcPgBouncer  = "pgbouncer"
	LinkBouncerPG = "pgbouncer_pg" // pgbouncer -> haproxy write
)

// pgbouncer pools the api's checkout connections in front of the leader.
var pgbouncer = Spec{
	Name:       SvcPgBouncer,
	Offsets:    map[string]int{"main": 50},
	Dials:      []Dial{{LinkBouncerPG, SvcHAProxy, "main"}},
	Needs:      []string{SvcHAProxy},
	Image:      ImageDebian,
	AsPostgres: true,
	Health:     Health{Kind: HealthPG},
	Command: func(a Addressing) []string {
		return []string{"pgbouncer", ConfigFile(a, SvcPgBouncer, "pgbouncer.ini")}
	},
	Files: func(a Addressing) map[string]string {
		return map[string]string{
			"pgbouncer.ini": pgbouncerConfig(a),
			// with auth_type trust a user must still be listed
			"userlist.txt": "\"postgres\" \"\"\n",
		}
	},
}

func pgbouncerConfig(a Addressing) string {
	upHost, upPort := SplitHostPort(a.Link(LinkBouncerPG))
	host, port := SplitHostPort(a.Listen(SvcPgBouncer, "main"))
	return strings.Join([]string{
		"[databases]",
		fmt.Sprintf("* = host=%s port=%d", upHost, upPort),
		"",
		"[pgbouncer]",
		"listen_addr = " + host,
		fmt.Sprintf("listen_port = %d", port),
		"unix_socket_dir =",
		"auth_type = trust",
		"auth_file = " + ConfigFile(a, SvcPgBouncer, "userlist.txt"),
		"admin_users = postgres",
		"pool_mode = transaction",
		"max_client_conn = 2000",
		"default_pool_size = 20",
		// After a failover a failed login would otherwise block new
		// logins for 15 s.
		"server_login_retry = 1",
		"ignore_startup_parameters = extra_float_digits",
		// One line per client login would flood the log at 10x load.
		"log_connections = 0",
		"log_disconnections = 0",
		"",
	}, "\n")
}
