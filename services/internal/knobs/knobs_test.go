package knobs

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

var table = Table{
	{Name: "cost", Flag: "cost", Def: 10 * time.Millisecond, Lo: 0, Hi: time.Second},
	{Name: "after", Flag: "after", Def: time.Second, Lo: time.Second, Hi: time.Minute, Whole: true},
}

func TestParse(t *testing.T) {
	cases := []struct {
		update map[string]string
		want   string // error substring; "" = valid
	}{
		{map[string]string{"cost": "20ms", "after": "3s"}, ""},
		{map[string]string{}, "no settings given; valid names: after, cost"},
		{map[string]string{"turbo": "1s"}, `unknown setting "turbo"; valid names: after, cost`},
		{map[string]string{"cost": "fast"}, `cost "fast": want a duration`},
		{map[string]string{"cost": "2s"}, "cost"},
		{map[string]string{"after": "1500ms"}, "after"},
	}
	for _, c := range cases {
		v, err := table.Parse(c.update)
		if c.want == "" {
			if err != nil || v["cost"] != 20*time.Millisecond || v["after"] != 3*time.Second {
				t.Errorf("Parse(%v) = %v, %v", c.update, v, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || v != nil {
			t.Errorf("Parse(%v): %v, %v; want an error naming %q and nothing applied", c.update, v, err, c.want)
		}
	}
}

func TestFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	values := table.Flags(fs)
	if err := fs.Parse([]string{"--cost", "5ms"}); err != nil {
		t.Fatal(err)
	}
	v := values()
	if v["cost"] != 5*time.Millisecond || v["after"] != time.Second {
		t.Fatalf("values %v: want the flag and the other default", v)
	}
	if err := table.CheckFlags(v); err != nil {
		t.Fatalf("defaults and a valid flag rejected: %v", err)
	}
	v["after"] = 90 * time.Second
	if err := table.CheckFlags(v); err == nil || !strings.Contains(err.Error(), "--after") {
		t.Fatalf("out of range: %v, want an error naming --after", err)
	}
}
