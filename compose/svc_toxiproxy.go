package compose

const SvcToxiproxy = "toxiproxy"

// toxiproxy holds every link's proxy. It is the one service each backend
// runs its own way: embedded in the runner locally, a container built from
// the topology's links under compose; so it has no Command here.
var toxiproxy = Spec{
	Name:    SvcToxiproxy,
	Offsets: map[string]int{"main": 0},
	Image:   ImageToxiproxy,
	Health:  Health{Kind: HealthHTTP, Path: "/version"},
}
