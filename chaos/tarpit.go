package chaos

import (
	"net"
	"sync"
	"time"
)

// Tarpit accepts connections and never reads or answers them: what a
// host that vanished from the network looks like to a new connection
// (after the proxy in front of it accepted).
type Tarpit struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
	done  chan struct{}
}

// ListenTarpit serves a tarpit on addr ("127.0.0.1:0": any free port).
func ListenTarpit(addr string) (*Tarpit, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	t := &Tarpit{ln: ln, done: make(chan struct{})}
	go func() {
		defer close(t.done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.mu.Lock()
			t.conns = append(t.conns, c)
			t.mu.Unlock()
		}
	}()
	return t, nil
}

// Addr is where the tarpit listens.
func (t *Tarpit) Addr() string { return t.ln.Addr().String() }

// Close stops listening and closes every connection it holds.
func (t *Tarpit) Close() {
	t.ln.Close()
	select {
	case <-t.done:
	case <-time.After(time.Second):
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		c.Close()
	}
	t.conns = nil
}
