package local

import (
	"testing"

	"github.com/whatif-lab/whatif/compose"
)

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Topology: compose.Default(17000)}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.RunDir != DefaultRunDir(17000) || c.Patroni != DefaultPatroniTimers || c.StartTimeout == 0 {
		t.Errorf("defaults: %+v", c)
	}
	bad := []Config{
		{Topology: compose.Default(17000), RunDir: "/tmp/has space"},
		{Topology: compose.Default(17000), RunDir: "/"},
		{Topology: compose.Default(17000), Patroni: PatroniTimers{TTL: 5, LoopWait: 1, RetryTimeout: 3}},
	}
	for _, b := range bad {
		if _, err := b.withDefaults(); err == nil {
			t.Errorf("accepted %+v", b)
		}
	}
}
