package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A produce is OK once the broker acknowledged it; its key is the event id
// the consumers see; a run stopped mid-produce is a cancel, not a fault.
func TestProduceOp(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	op := &ProduceOp{OpName: "event", Client: cl, Topic: "events"}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := op.Do(ctx, 42)
	if !res.OK() || res.Key != "42" || res.Op != "event" {
		t.Fatalf("produce: %+v, want OK with key 42", res)
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("events"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	fs := cons.PollFetches(ctx)
	if errs := fs.Errors(); len(errs) > 0 {
		t.Fatal(errs)
	}
	recs := fs.Records()
	if len(recs) != 1 || string(recs[0].Key) != "42" {
		t.Fatalf("consumed %d records (%v), want the one event 42", len(recs), recs)
	}

	canceled, stop := context.WithCancel(context.Background())
	stop()
	if res := op.Do(canceled, 43); res.OK() || res.ErrClass != ClassCanceled {
		t.Fatalf("produce on a stopped run: %+v, want a %s error", res, ClassCanceled)
	}
}
