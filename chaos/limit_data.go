package chaos

import (
	"fmt"
	"strconv"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
)

// LimitData closes each connection once it has carried n bytes in the
// given direction (0 = close at the first data): a transfer cut short.
func LimitData(tp *Toxiproxy, link string, dir Direction, n int64) (Fault, error) {
	if n < 0 {
		return nil, fmt.Errorf("chaos: limit_data %d bytes is negative", n)
	}
	desc := strconv.FormatInt(n, 10) + "B"
	return newToxic(tp, link, dir, "limit_data", desc, toxiclient.Attributes{"bytes": n})
}
