package scenarios

import (
	"fmt"
	"net/http"
	"time"

	. "github.com/whatif-lab/whatif/experiments"
	"github.com/whatif-lab/whatif/loadgen"
)

// Item keys follow a Zipf law over the seeded items: rank 1 (id 1) is the
// hottest, ~1% of keys take most reads — the seed's Pareto assumption.
const (
	itemCount = 100000
	itemZipfS = 1.2
)

// orderWrites is POST /orders with a unique Idempotency-Key per logical
// request; retries reuse it, so the audit can find each order exactly once.
func orderWrites(e *Env) loadgen.Op {
	run := fmt.Sprintf("%s-%s-%d", e.Variant, e.Level, time.Now().UnixNano())
	return &loadgen.HTTPOp{
		OpName:   "write",
		Method:   http.MethodPost,
		Client:   e.HTTP,
		KeepBody: true,
		URL: func(seq uint64) (string, string) {
			return e.APIURL + "/orders", fmt.Sprintf("%s-%d", run, seq)
		},
		Body: func(seq uint64, _ string) []byte {
			return []byte(fmt.Sprintf(`{"item_id":%d,"qty":1}`, seq%1000+1))
		},
		Header: func(_ uint64, key string) http.Header {
			return http.Header{"Content-Type": {"application/json"}, "Idempotency-Key": {key}}
		},
	}
}

// recentOrders is GET /orders/recent: a DB read that no cache hides.
func recentOrders(e *Env) loadgen.Op {
	return &loadgen.HTTPOp{
		OpName: "read",
		Method: http.MethodGet,
		Client: e.HTTP,
		URL:    func(uint64) (string, string) { return e.APIURL + "/orders/recent?n=5", "" },
	}
}
