package loadgen

import (
	"context"
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ClassRejected is a broker's error answer to a produce (kerr): the
// record was refused, not lost on the way.
const ClassRejected = "rejected"

// ProduceOp produces one event per request to a Kafka topic: its key is
// the request's sequence number in decimal (the event id an audit counts),
// and the request is OK once the broker acknowledged it, with the acks the
// client was built with (a promise of no loss needs acks=all and
// idempotent writes, kgo's default; kafka-go's default acks none).
type ProduceOp struct {
	OpName string
	Client *kgo.Client
	Topic  string
}

func (p *ProduceOp) Name() string { return p.OpName }

// Do produces and waits for the acknowledgement. A record whose context
// ends after it was sent may still land: it is then an error here and an
// unacknowledged event the consumers may see.
func (p *ProduceOp) Do(ctx context.Context, seq uint64) Result {
	id := strconv.FormatUint(seq, 10)
	rec := &kgo.Record{Topic: p.Topic, Key: []byte(id)}
	res := Result{Op: p.OpName, Key: id}
	if err := p.Client.ProduceSync(ctx, rec).FirstErr(); err != nil {
		res.Err, res.ErrClass = err.Error(), classifyProduce(err)
	}
	return res
}

func classifyProduce(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ClassRejected
	}
	return classifyErr(err)
}
