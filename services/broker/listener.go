package main

import "net"

// advertisedListener reports the advertised address as its own. kfake has
// no advertised-listener option: metadata responses carry the host:port of
// the broker's listener, so this is how clients learn to dial the proxy.
type advertisedListener struct {
	net.Listener
	addr hostPort
}

func (l advertisedListener) Addr() net.Addr { return l.addr }

// hostPort is a net.Addr for any host:port, a DNS name included (compose
// mode advertises "toxiproxy:PORT").
type hostPort string

func (hostPort) Network() string  { return "tcp" }
func (a hostPort) String() string { return string(a) }
