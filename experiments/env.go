package experiments

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/loadgen"
)

// Stack is a running system under test, whatever the backend.
type Stack interface {
	Topology() compose.Topology
	// Services lists the services the stack runs (Toxiproxy excluded), sorted.
	Services() []string
	Controller() compose.Controller
	ToxiproxyURL() string
	// ToxiproxyTarpit is HOST:PORT of a tarpit beside the Toxiproxy
	// server, as that server dials it; "" = the runner's own.
	ToxiproxyTarpit() string
	// ClientAddr is HOST:PORT where a client on this host reaches a
	// service's port (compose: the container's own address, not docker's
	// userland port proxy).
	ClientAddr(svc, port string) string
	// DialContext dials an address as the services name each other (a
	// broker's advertised address), reaching it from this host.
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	// AdminToken is the bearer token of the API's admin endpoints; ""
	// when loopback suffices.
	AdminToken() string
	// Capabilities is what the stack offers beyond its Controller.
	Capabilities() compose.Capabilities
}

// Env is what an experiment's pieces (fault, ops, audit) see of one run.
type Env struct {
	Stack    Stack
	Topology compose.Topology
	APIURL   string // http://127.0.0.1:<api>
	Variant  Variant
	Level    Level
	Scale    float64 // time scale: 1 full, < 1 quick
	Toxi     *chaos.Toxiproxy
	Ledger   *Ledger
	// Run is the run in progress: its history, and the one store of its
	// facts (Run.SetFact), which faults and audits write.
	Run   *Run
	HTTP  *http.Client // the run's client: connections bounded like its workers
	admin *operator.API
	// instances are the experiment's further API processes, by service
	instances map[string]*operator.API
	// workers are the experiment's worker-pool services, by service
	workers map[string]*operator.API
	closers []func()

	on map[string]bool // protections of this run, API and runner side

	offered atomic.Uint64 // math.Float64bits of an offered-rate override; 0 = the run's rate
	mixOps  []string      // the run's ops, in the order of its mix
	weights atomic.Pointer[[]int]
}

// SetOffered overrides the offered load (req/s) from now on; 0 restores
// the run's own rate. Traffic faults (a spike) use it.
func (e *Env) SetOffered(rate float64) { e.offered.Store(math.Float64bits(rate)) }

// SetMix overrides the weights of the run's op mix, by op name, from now
// on; an op not named gets none. nil restores the experiment's own mix.
// Traffic faults that change who sends (a bot joining a spike) use it.
func (e *Env) SetMix(weights map[string]int) error {
	if weights == nil {
		e.weights.Store(nil)
		return nil
	}
	w := make([]int, len(e.mixOps))
	total := 0
	for name, n := range weights {
		i := slices.Index(e.mixOps, name)
		if i < 0 {
			return fmt.Errorf("mix: no op %q in this run (ops: %s)", name, strings.Join(e.mixOps, ", "))
		}
		if n < 0 {
			return fmt.Errorf("mix: op %q has a negative weight (%d)", name, n)
		}
		w[i] = n
		total += n
	}
	if total == 0 {
		return fmt.Errorf("mix: weights %v send nothing", weights)
	}
	e.weights.Store(&w)
	return nil
}

// mixWeights is the mix's weights now; nil = the experiment's own.
func (e *Env) mixWeights(time.Duration) []int {
	if w := e.weights.Load(); w != nil {
		return *w
	}
	return nil
}

// offeredRate is the load the client offers now.
func (e *Env) offeredRate(runRate float64) float64 {
	if v := math.Float64frombits(e.offered.Load()); v > 0 {
		return v
	}
	return runRate
}

// apis are the run's API processes: the API, then the instances by name.
func (e *Env) apis() []*operator.API {
	out := []*operator.API{e.admin}
	for _, svc := range sortedKeys(e.instances) {
		out = append(out, e.instances[svc])
	}
	return out
}

// Admin is the API's admin client (warm its caches, read its stats).
func (e *Env) Admin() *operator.API { return e.admin }

// Instance is the admin client of one of the experiment's API instances.
func (e *Env) Instance(svc string) *operator.API { return e.instances[svc] }

// OnClose has f run when the run ends (e.g. close a client its ops use).
func (e *Env) OnClose(f func()) { e.closers = append(e.closers, f) }

func (e *Env) closeAll() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
}

// Worker is the admin client of one of the experiment's worker pools.
func (e *Env) Worker(svc string) *operator.API { return e.workers[svc] }

// On says whether a protection (API or runner side) is on in this run.
func (e *Env) On(protection string) bool { return e.on[protection] }

// Ledger keeps what the client saw acknowledged, so an audit can compare
// it with what the system stored.
type Ledger struct {
	mu    sync.Mutex
	acked map[string][]loadgen.Result // op -> OK results
}

func newLedger() *Ledger {
	return &Ledger{acked: map[string][]loadgen.Result{}}
}

// observe records one finished logical request; called from load workers.
func (l *Ledger) observe(res loadgen.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if res.OK() {
		l.acked[res.Op] = append(l.acked[res.Op], res)
	}
}

// Acked returns the acknowledged results of an op.
func (l *Ledger) Acked(op string) []loadgen.Result {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]loadgen.Result(nil), l.acked[op]...)
}
