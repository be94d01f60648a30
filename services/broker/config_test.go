package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(config) bool
	}{
		{"listen only", []string{"--listen", "127.0.0.1:9092"}, false, func(c config) bool {
			return c.advertise == "" && c.partitions == 3 && c.retentionCheck == time.Second && c.autoCreate
		}},
		{"everything", []string{"--listen", "0.0.0.0:9092", "--advertise", "toxiproxy:15504", "--data-dir", "/d",
			"--partitions", "6", "--topics", "a, b,,c", "--retention-check", "250ms", "--retention", "1m", "--auto-create=false"}, false,
			func(c config) bool {
				return c.advertise == "toxiproxy:15504" && c.dataDir == "/d" && c.partitions == 6 &&
					slices.Equal(c.topics, []string{"a", "b", "c"}) && c.retentionCheck == 250*time.Millisecond &&
					c.retention == time.Minute && !c.autoCreate
			}},
		{"listen on port 0", []string{"--listen", "127.0.0.1:0"}, false, nil},
		{"no listen", nil, true, nil},
		{"listen without port", []string{"--listen", "127.0.0.1"}, true, nil},
		{"advertise port 0", []string{"--listen", "127.0.0.1:9092", "--advertise", "127.0.0.1:0"}, true, nil},
		{"advertise bad port", []string{"--listen", "127.0.0.1:9092", "--advertise", "h:99999"}, true, nil},
		{"zero partitions", []string{"--listen", "127.0.0.1:9092", "--partitions", "0"}, true, nil},
		{"too many partitions", []string{"--listen", "127.0.0.1:9092", "--partitions", "2147483648"}, true, nil},
		{"negative duration", []string{"--listen", "127.0.0.1:9092", "--retention", "-1s"}, true, nil},
		{"bad log level", []string{"--listen", "127.0.0.1:9092", "--log-level", "loud"}, true, nil},
		{"stray argument", []string{"--listen", "127.0.0.1:9092", "extra"}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseFlags(tc.args, io.Discard)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.check != nil && !tc.check(c) {
				t.Errorf("parsed %+v", c)
			}
		})
	}
}
