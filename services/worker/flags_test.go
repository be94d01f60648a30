package main

import (
	"io"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	ok := []string{"--listen", "127.0.0.1:18000", "--broker", "127.0.0.1:9092", "--pg", "postgres://postgres@127.0.0.1:5432/postgres"}
	cases := []struct {
		name  string
		extra []string
		want  string // substring of the error; "" = valid
		topic string // the topic a valid line consumes; "" = events, "-" = none
	}{
		{"valid", nil, "", ""},
		{"default topic is the pipeline's", []string{"--pipeline", "events"}, "", ""},
		{"encode pipeline", []string{"--pipeline", "encode", "--protections", "lowest_first,processing_state", "--encoders", "4"}, "", "uploads"},
		{"unknown pipeline", []string{"--pipeline", "videos"}, `--pipeline "videos": want one of booking, cdc, encode`, ""},
		{"standby connector", []string{"--pipeline", "cdc", "--standby", "--protections", "durable_slot"}, "", "payments.cdc"},
		{"standby of a pipeline without one", []string{"--pipeline", "payments", "--standby"}, "--standby: only the cdc pipeline", ""},
		{"a connector protection on the application", []string{"--pipeline", "payments", "--protections", "durable_slot"}, "durable_slot", ""},
		{"fallback too soon", []string{"--pipeline", "payments", "--fallback-after", "1ms"}, "--fallback-after", ""},
		{"another pipeline's protection", []string{"--pipeline", "encode", "--protections", "split_groups"}, "split_groups", ""},
		{"no encoders", []string{"--encoders", "0"}, "--encoders", ""},
		{"negative encode unit", []string{"--encode-unit", "-1ms"}, "--encode-unit", ""},
		{"bad topic", []string{"--topic", "a b"}, `--topic "a b"`, ""},
		{"too many partitions", []string{"--partitions", "65"}, "--partitions", ""},
		{"negative members", []string{"--members", "-1"}, "--members", ""},
		{"unknown protection", []string{"--protections", "split_groups,turbo"}, "turbo", ""},
		{"negative record cost", []string{"--record-cost", "-1ms"}, "--record-cost", ""},
		{"stray argument", []string{"now"}, "unexpected arguments", ""},
		{"booking pipeline", []string{"--pipeline", "booking", "--redis", "127.0.0.1:6379", "--name", "booker-a"}, "", "-"},
		{"booking without a lock service", []string{"--pipeline", "booking"}, "--redis or --etcd", ""},
		{"booking with a topic", []string{"--pipeline", "booking", "--redis", "127.0.0.1:6379", "--topic", "seats"}, "reads no topic", ""},
		{"bad redis address", []string{"--pipeline", "booking", "--redis", "nowhere"}, "--redis", ""},
		{"booking over etcd", []string{"--pipeline", "booking", "--etcd", "127.0.0.1:2379,127.0.0.1:2381"}, "", "-"},
		{"booking over both", []string{"--pipeline", "booking", "--redis", "127.0.0.1:6379", "--etcd", "127.0.0.1:2379"}, "one lock service", ""},
		{"bad etcd member", []string{"--pipeline", "booking", "--etcd", "127.0.0.1:2379,"}, "--etcd", ""},
		{"etcd without locks", []string{"--etcd", "127.0.0.1:2379"}, "--etcd: only the booking pipeline", ""},
		{"bad name", []string{"--name", "a b"}, `--name "a b"`, ""},
		{"booking lock ttl too short", []string{"--pipeline", "booking", "--redis", "127.0.0.1:6379", "--lock-ttl", "1ms"}, "--lock-ttl", ""},
		{"startup too short", []string{"--startup-timeout", "1ms"}, "--startup-timeout", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := parseFlags(append(append([]string{}, ok...), c.extra...), io.Discard)
			if c.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				want := c.topic
				switch want {
				case "":
					want = "events"
				case "-":
					want = ""
				}
				if f.topic != want {
					t.Errorf("topic %q, want the pipeline's own, %q", f.topic, want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}

// TestBookingNeedsNoBroker: a pipeline without a topic runs without
// --broker, and one with a topic still needs it.
func TestBookingNeedsNoBroker(t *testing.T) {
	base := []string{"--listen", "127.0.0.1:18000", "--pg", "postgres://postgres@127.0.0.1:5432/postgres"}
	if _, err := parseFlags(append(base, "--pipeline", "booking", "--redis", "127.0.0.1:6379"), io.Discard); err != nil {
		t.Errorf("booking without --broker: %v", err)
	}
	if _, err := parseFlags(append(base, "--pipeline", "payments"), io.Discard); err == nil || !strings.Contains(err.Error(), "--broker") {
		t.Errorf("payments without --broker: %v, want an error naming --broker", err)
	}
}

func TestParseFlagsRequired(t *testing.T) {
	_, err := parseFlags(nil, io.Discard)
	for _, name := range []string{"--listen", "--broker", "--pg"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name the missing %s", err, name)
		}
	}
}

func FuzzParseFlags(f *testing.F) {
	f.Add("--listen=127.0.0.1:18000 --broker=b:1 --pg=postgres://x@y/z --members=3 --protections=autoscale")
	f.Add("--record-cost=5ms --scale-lag=1s --topic=t")
	f.Add("--listen=127.0.0.1:1 --pg=postgres://x@y/z --pipeline=booking --redis=r:6379 --name=a --lock-ttl=2s")
	f.Fuzz(func(t *testing.T, line string) {
		f, err := parseFlags(strings.Fields(line), io.Discard)
		if err != nil {
			return
		}
		// what parses is valid everywhere it is used
		hasTopic := pipelines[f.pipeline].topic != ""
		if f.members < 0 || f.members > maxPartitions || f.partitions < 1 || f.encoders < 1 || hasTopic != topicName.MatchString(f.topic) {
			t.Fatalf("accepted %+v", f)
		}
		if _, ok := pipelines[f.pipeline]; !ok {
			t.Fatalf("accepted pipeline %q", f.pipeline)
		}
	})
}
