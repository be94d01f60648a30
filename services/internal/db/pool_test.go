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
