package main

import (
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// broker is a running kfake cluster of one node.
type broker struct {
	cluster    *kfake.Cluster
	listenAddr string // the real socket
	advertised string
	stopTicker chan struct{}
	tickerDone chan struct{}
}

func start(cfg config, logs io.Writer) (*broker, error) {
	b := &broker{}
	// kfake asks to listen on 127.0.0.1:<port>; we listen where the flag
	// says (0.0.0.0 in a container) and advertise the proxy.
	listen := func(network, _ string) (net.Listener, error) {
		if b.listenAddr != "" {
			return nil, errors.New("only one broker listener is supported")
		}
		ln, err := net.Listen(network, cfg.listen)
		if err != nil {
			return nil, err
		}
		b.listenAddr = ln.Addr().String()
		b.advertised = cfg.advertise
		if b.advertised == "" {
			b.advertised = b.listenAddr
		}
		return advertisedListener{Listener: ln, addr: hostPort(b.advertised)}, nil
	}

	bcfg := map[string]string{}
	if cfg.retentionCheck > 0 {
		bcfg["log.cleaner.backoff.ms"] = strconv.FormatInt(cfg.retentionCheck.Milliseconds(), 10)
	}
	if cfg.retention > 0 {
		bcfg["log.retention.ms"] = strconv.FormatInt(cfg.retention.Milliseconds(), 10)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.ListenFn(listen),
		kfake.DefaultNumPartitions(cfg.partitions),
		kfake.GroupMinSessionTimeout(cfg.groupMinSession),
		kfake.BrokerConfigs(bcfg),
		kfake.WithLogger(kfake.BasicLogger(logs, cfg.logLevel)),
	}
	if cfg.autoCreate {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	if cfg.dataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.dataDir))
	}
	if len(cfg.topics) > 0 {
		// Seeds apply only to a fresh data dir; a restart keeps what it had.
		opts = append(opts, kfake.SeedTopics(int32(cfg.partitions), cfg.topics...))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, err
	}
	b.cluster = c
	b.stopTicker = make(chan struct{})
	b.tickerDone = make(chan struct{})
	go b.cleaner(cfg.retentionCheck)
	return b, nil
}

// cleaner runs retention and compaction every interval. kfake's own
// cleaner ticker (log.cleaner.backoff.ms) is armed only by a topic-level
// retention or compaction config — a broker-wide log.retention.ms does not
// arm it — and is not re-armed when state is loaded from the data dir, so
// on its own --retention would never delete anything.
func (b *broker) cleaner(interval time.Duration) {
	defer close(b.tickerDone)
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stopTicker:
			return
		case <-t.C:
			b.cluster.Compact() // compaction and retention, on every topic
		}
	}
}

// close stops the cleaner first (kfake's admin calls block forever once the
// cluster is closed), then closes the cluster, which persists its state.
func (b *broker) close() {
	close(b.stopTicker)
	<-b.tickerDone
	b.cluster.Close()
}
