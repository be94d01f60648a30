package chaos

import (
	"fmt"
	"strconv"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Bandwidth caps throughput at kbPerSecond (1 KB = 1000 bytes), per
// connection and per stream.
func Bandwidth(tp *Toxiproxy, link string, dir Direction, kbPerSecond int64) (Fault, error) {
	// Toxiproxy reads rate 0 as "unlimited", so refuse it rather than
	// inject a toxic that does nothing.
	if kbPerSecond <= 0 {
		return nil, fmt.Errorf("chaos: bandwidth %d KB/s must be positive", kbPerSecond)
	}
	desc := strconv.FormatInt(kbPerSecond, 10) + "KB/s"
	return newToxic(tp, link, dir, "bandwidth", desc, toxiclient.Attributes{"rate": kbPerSecond})
}
