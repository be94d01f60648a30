package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string // substring; "" = valid
	}{
		{nil, ""},
		{[]string{"-sections", "13", "-conns", "64"}, ""},
		{[]string{"-step", "0s"}, "-step must be > 0"},
		{[]string{"-conns", "-1"}, "-conns must be > 0"},
		{[]string{"-start-rate", "9000", "-max-rate", "100"}, "above -max-rate"},
		{[]string{"-co-stall-at", "9s"}, "must lie within -co-time"},
		{[]string{"-server", "docker"}, "-server must be"},
		{[]string{"-sections", "4"}, "-sections"},
		{[]string{"-nope"}, errUsage.Error()},
		{[]string{"extra"}, "unexpected arguments"},
	}
	for _, tc := range tests {
		_, _, err := parseFlags(tc.args, io.Discard)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tc.args, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%q: error %v, want one mentioning %q", tc.args, err, tc.wantErr)
		}
	}
	if _, _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
	c, _, _ := parseFlags([]string{"-co-rate", "1000", "-co-stall", "2s", "-conns", "64"}, io.Discard)
	if c.coConns != 3000 || c.coWorkers != 64 {
		t.Errorf("derived co-conns=%d co-workers=%d, want 3000 and 64", c.coConns, c.coWorkers)
	}
}
