package chaos

import (
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// ResetPeer resets connections (TCP RST) after they first carry data,
// delayed by after (0 = at once). Only connections opened while the toxic
// is present get an RST; ones already open are closed with a plain FIN
// (EOF), because Toxiproxy sets SO_LINGER 0 at connection setup.
func ResetPeer(tp *Toxiproxy, link string, dir Direction, after time.Duration) (Fault, error) {
	ms, err := millis("reset_peer timeout", after)
	if err != nil {
		return nil, err
	}
	return newToxic(tp, link, dir, "reset_peer", "after "+after.String(), toxiclient.Attributes{"timeout": ms})
}
