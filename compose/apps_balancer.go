package compose

import (
	"fmt"
	"strings"
)

// AppLink is the load balancer's link to an app instance.
func AppLink(svc string) string {
	return map[string]string{SvcApp0: LinkLBApp0, SvcApp1: LinkLBApp1}[svc]
}

// AppsBalancer is HAProxy's HTTP load balancer over the app instances, the
// same on both backends: round robin over the instances' links, a dead
// instance out of rotation after two failed health checks (~1 s) and back
// after two good ones; a request whose connection is refused is retried
// once on the other instance, as load balancers do. bind is the listen
// address, linkAddr resolves a link to the address HAProxy dials.
func AppsBalancer(bind string, linkAddr func(link string) string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("frontend apps_in")
	w("  bind %s", bind)
	w("  mode http")
	w("  timeout client 30s")
	w("  default_backend apps")
	w("")
	w("backend apps")
	w("  mode http")
	w("  balance roundrobin")
	w("  timeout server 30s")
	w("  retries 1")
	w("  option redispatch")
	w("  option httpchk GET /health")
	w("  http-check expect status 200")
	for _, svc := range AppInstances {
		w("  server %s %s check inter 500ms fall 2 rise 2", svc, linkAddr(AppLink(svc)))
	}
	return b.String()
}
