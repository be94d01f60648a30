package db

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// The options are what the api's pools rely on: check what each sets on
// the parsed configuration, without a server.
func TestOptions(t *testing.T) {
	cases := []struct {
		name  string
		opt   Option
		check func(c *pgxpool.Config) bool
	}{
		{"Serial turns parallel workers off", Serial(), func(c *pgxpool.Config) bool {
			return c.ConnConfig.RuntimeParams["max_parallel_workers_per_gather"] == "0"
		}},
		{"Lazy keeps no idle connections", Lazy(), func(c *pgxpool.Config) bool { return c.MinConns == 0 && c.MaxConnIdleTime > 0 }},
		{"AsApp connects as the app role", AsApp(), func(c *pgxpool.Config) bool { return c.ConnConfig.User == AppRole }},
	}
	for _, c := range cases {
		cfg, err := pgxpool.ParseConfig("postgres://u@127.0.0.1:1/db")
		if err != nil {
			t.Fatal(err)
		}
		cfg.MinConns = 4
		c.opt(cfg)
		if !c.check(cfg) {
			t.Errorf("%s: not set", c.name)
		}
	}
}

// A pool names its connections unless the DSN does.
func TestOpenNamesConnections(t *testing.T) {
	for _, c := range []struct{ dsn, want string }{
		{"postgres://u@127.0.0.1:1/db", "whatif-replica"},
		{"postgres://u@127.0.0.1:1/db?application_name=mine", "mine"},
	} {
		p, err := Open("replica", c.dsn, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.p.Config().ConnConfig.RuntimeParams["application_name"]; got != c.want {
			t.Errorf("%s: application_name %q, want %q", c.dsn, got, c.want)
		}
		p.p.Close()
	}
}
