package main

import (
	"fmt"
	"strconv"

	"github.com/jackc/pglogrepl"
	"github.com/twmb/franz-go/pkg/kgo"
)

// changeDecoder turns pgoutput messages into the CDC topic's records: a
// payment's insert becomes a "payment" event keyed by its id, stamped with
// its transaction's commit time; a heartbeat row's insert or update
// becomes a "heartbeat" keyed by its beat, stamped with the time the
// application wrote it. Other changes are read and dropped.
type changeDecoder struct {
	tr      *flushTracker
	emit    func(*kgo.Record, *txn)
	rels    map[uint32]*pglogrepl.RelationMessage
	cur     *txn
	commitT int64 // unix ns of the current transaction's commit
}

func newChangeDecoder(tr *flushTracker, emit func(*kgo.Record, *txn)) *changeDecoder {
	return &changeDecoder{tr: tr, emit: emit, rels: map[uint32]*pglogrepl.RelationMessage{}}
}

func (d *changeDecoder) handle(data []byte) error {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return fmt.Errorf("decoding pgoutput: %w", err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		d.rels[m.RelationID] = m
	case *pglogrepl.BeginMessage:
		d.cur = d.tr.begin()
		d.commitT = m.CommitTime.UnixNano()
	case *pglogrepl.CommitMessage:
		if d.cur == nil {
			return fmt.Errorf("commit at %s without a begin", m.CommitLSN)
		}
		d.tr.commit(d.cur, m.TransactionEndLSN)
		d.cur = nil
	case *pglogrepl.InsertMessage:
		return d.row(m.RelationID, m.Tuple)
	case *pglogrepl.UpdateMessage:
		return d.row(m.RelationID, m.NewTuple)
	}
	return nil
}

func (d *changeDecoder) row(rel uint32, tuple *pglogrepl.TupleData) error {
	r, ok := d.rels[rel]
	if !ok {
		return fmt.Errorf("change of relation %d before its description", rel)
	}
	if d.cur == nil {
		return fmt.Errorf("change of %s outside a transaction", r.RelationName)
	}
	cols := map[string]string{}
	for i, c := range tuple.Columns {
		if i < len(r.Columns) && c.DataType == pglogrepl.TupleDataTypeText {
			cols[r.Columns[i].Name] = string(c.Data)
		}
	}
	var key, kind string
	at := d.commitT
	switch r.RelationName {
	case "payments":
		key, kind = cols["id"], kindPayment
	case "cdc_heartbeat":
		key, kind = cols["beat"], kindHeartbeat
		ns, err := strconv.ParseInt(cols["at_unix_ns"], 10, 64)
		if err != nil {
			return fmt.Errorf("heartbeat %s: at_unix_ns %q: %w", key, cols["at_unix_ns"], err)
		}
		at = ns
	default:
		return nil
	}
	if _, err := strconv.ParseInt(key, 10, 64); err != nil {
		return fmt.Errorf("%s row without an integer key (%q)", r.RelationName, key)
	}
	rec := &kgo.Record{Key: []byte(key), Headers: []kgo.RecordHeader{
		{Key: headerKind, Value: []byte(kind)},
		{Key: headerSource, Value: []byte(sourceCDC)},
		{Key: headerAt, Value: []byte(strconv.FormatInt(at, 10))},
	}}
	d.tr.produced(d.cur, kind == kindPayment)
	d.emit(rec, d.cur)
	return nil
}

// Kinds and sources of the CDC topic's events.
const (
	kindPayment   = "payment"
	kindHeartbeat = "heartbeat"
	sourceCDC     = "cdc"
	sourceApp     = "app" // the application's fallback publish
)
