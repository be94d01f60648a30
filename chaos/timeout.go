package chaos

import (
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// Timeout swallows all data: connections stay open but nothing passes, the
// shape of a hung dependency. After closeAfter the proxy closes each stalled
// connection; closeAfter 0 stalls until Recover. Removing the toxic closes
// the connections it stalled (new ones then work normally).
func Timeout(tp *Toxiproxy, link string, dir Direction, closeAfter time.Duration) (Fault, error) {
	ms, err := millis("timeout", closeAfter)
	if err != nil {
		return nil, err
	}
	desc := "forever"
	if ms > 0 {
		desc = "close after " + closeAfter.String()
	}
	return newToxic(tp, link, dir, "timeout", desc, toxiclient.Attributes{"timeout": ms})
}
