package experiments

import (
	"math"
	"net/http"
	"sync"
	"sync/atomic"

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

	on map[string]bool // protections of this run, API and runner side

	offered atomic.Uint64 // math.Float64bits of an offered-rate override; 0 = the run's rate
}

// SetOffered overrides the offered load (req/s) from now on; 0 restores
// the run's own rate. Traffic faults (a spike) use it.
func (e *Env) SetOffered(rate float64) { e.offered.Store(math.Float64bits(rate)) }

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
