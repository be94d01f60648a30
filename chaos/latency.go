package chaos

import (
	"fmt"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Latency delays every chunk by latency ± jitter. On Both the delay is
// paid once each way, so a request/response round trip gains about twice
// latency. Jitter may not exceed latency (a delay cannot be negative).
func Latency(tp *Toxiproxy, link string, dir Direction, latency, jitter time.Duration) (Fault, error) {
	l, err := millis("latency", latency)
	if err != nil {
		return nil, err
	}
	j, err := millis("jitter", jitter)
	if err != nil {
		return nil, err
	}
	if l == 0 {
		return nil, fmt.Errorf("chaos: latency must be at least 1ms")
	}
	if j > l {
		return nil, fmt.Errorf("chaos: jitter %v exceeds latency %v", jitter, latency)
	}
	desc := latency.String()
	if j > 0 {
		desc += "±" + jitter.String()
	}
	return newToxic(tp, link, dir, "latency", desc, toxiclient.Attributes{"latency": l, "jitter": j})
}
