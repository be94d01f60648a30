package experiments

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/whatif-lab/whatif/chaos"
	"github.com/whatif-lab/whatif/loadgen"
	"github.com/whatif-lab/whatif/services/api/knob"
	workerknob "github.com/whatif-lab/whatif/services/worker/knob"
)

func TestRunSettingsLayers(t *testing.T) {
	x := Experiment{Name: "x", Settings: map[string]string{"breaker_cooldown": "30s", "query_cost": "25ms"},
		ScaledSettings: []string{"breaker_cooldown"}}
	cases := []struct {
		name     string
		override map[string]string
		scale    float64
		want     map[string]string
		wantErr  string
	}{
		{"defaults under the experiment's own", nil, 1,
			map[string]string{"breaker_cooldown": "30s", "query_cost": "25ms", "shed_wait": "250ms", "db_acquire_timeout": "40ms"}, ""},
		{"--set over the experiment", map[string]string{"query_cost": "40ms", "shed_wait": "1s"}, 1,
			map[string]string{"query_cost": "40ms", "shed_wait": "1s", "breaker_cooldown": "30s"}, ""},
		{"a scaled knob shrinks, --set or not", map[string]string{"breaker_cooldown": "8s"}, 0.25,
			map[string]string{"breaker_cooldown": "2s", "query_cost": "25ms"}, ""},
		{"scaled below its range", map[string]string{"breaker_cooldown": "1ms"}, 0.25, nil, "x at time scale 0.25: breaker_cooldown 0s"},
		{"unknown name", map[string]string{"nope": "1s"}, 1, nil, `unknown setting "nope"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := runSettings(x, c.override, c.scale)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	bad := Experiment{Name: "y", ScaledSettings: []string{"cooldown"}}
	if _, err := runSettings(bad, nil, 1); err == nil || !strings.Contains(err.Error(), `scaled setting "cooldown" is not a knob`) {
		t.Fatalf("stale scaled name: %v", err)
	}
}

func FuzzParseSet(f *testing.F) {
	for _, s := range []string{"query_cost=40ms", "query_cost=40ms,shed_wait=1s", "", ",", "query_cost", "=1s", "query_cost=40ms,query_cost=1s", "retry_after=1500ms"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseSet(s)
		if err != nil {
			return
		}
		if len(m) == 0 {
			t.Fatalf("%q: accepted with nothing set", s)
		}
		if _, err := runSettings(Experiment{Name: "z"}, m, 1); err != nil {
			t.Fatalf("%q: accepted by ParseSet, refused by runSettings: %v", s, err)
		}
	})
}

func TestScaleForKeepsTheExperimentsFloor(t *testing.T) {
	cases := []struct {
		name       string
		min, asked float64
		lv         Level
		want       float64
	}{
		{"no floor: quick stays quick", 0, QuickScale, Normal, QuickScale},
		{"no floor: unset is full scale", 0, 0, Peak, 1},
		{"a floor above quick wins at normal load", 0.5, QuickScale, Normal, 0.5},
		{"at 10x the rate a tenth of the floor is enough", 0.5, QuickScale, Peak, QuickScale},
		{"at 10x a floor above 10x quick still wins", 0.9, 0.05, Peak, 0.09},
		{"a floor below the asked scale does nothing", 0.5, 1, Normal, 1},
		{"never above full scale", 0.5, 2, Normal, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := Experiment{Name: "x", MinScale: c.min, Load: Load{Rate: 60}}
			if got := x.ScaleFor(c.asked, c.lv); math.Abs(got-c.want) > 1e-12 {
				t.Fatalf("ScaleFor(%g, %s) with MinScale %g = %g, want %g", c.asked, c.lv, c.min, got, c.want)
			}
		})
	}
	for _, bad := range []float64{-0.1, 1.5} {
		x := Experiment{Name: "x", MinScale: bad, Fault: func(*Env) chaos.Fault { return nil },
			Load:    Load{Rate: 1, Ops: func(*Env) []loadgen.Weighted { return nil }},
			Cascade: []Check{AtMost("c", constant(0, nil), 1, Count)}, Holds: []Check{AtMost("h", constant(0, nil), 1, Count)},
			Phases: Phases{Baseline: time.Second, Fault: time.Second, Recovery: time.Second}}
		if err := x.Validate(); err == nil || !strings.Contains(err.Error(), "MinScale") {
			t.Errorf("MinScale %g: Validate said %v", bad, err)
		}
	}
	x := Experiment{Name: "x", MinScale: 0.5, Settings: map[string]string{"breaker_cooldown": "1ms"}, ScaledSettings: []string{"breaker_cooldown"},
		Load: Load{Rate: 60, PeakFactor: 1}}
	// checked at the scale it will play at (0.5: 0.5ms rounds to 1ms, in range), not at the one asked for (0.25: 0s)
	if err := CheckSettings(x, Options{Scale: QuickScale}); err != nil {
		t.Fatalf("CheckSettings judged the asked scale, not the floor: %v", err)
	}
	// at 10x the peak runs play at 0.25, where 1ms scales to 0s
	x.Load.PeakFactor = 10
	if err := CheckSettings(x, Options{Scale: QuickScale}); err == nil {
		t.Fatal("CheckSettings passed a knob the peak runs cannot play with")
	}
	// judged only at the levels of the runs asked for
	if err := CheckSettings(x, Options{Scale: QuickScale, Runs: Matrix(nil, []Level{Normal})}); err != nil {
		t.Fatalf("CheckSettings judged a peak run no one asked for: %v", err)
	}
}

// The runner sends each service only its own knobs, so two services may
// never share a knob's name.
func TestKnobNamesDisjointAndRouted(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range allKnobs {
		if seen[k.Name] {
			t.Errorf("knob %q is in two services' tables", k.Name)
		}
		seen[k.Name] = true
	}
	set, err := runSettings(Experiment{Name: "x"}, map[string]string{"record_cost": "20ms", "query_cost": "40ms"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	api, worker := knobsOf(set, knob.All), knobsOf(set, workerknob.All)
	if api["query_cost"] != "40ms" || api["record_cost"] != "" {
		t.Errorf("API gets %v: want query_cost 40ms and no worker knob", api)
	}
	if worker["record_cost"] != "20ms" || worker["query_cost"] != "" || len(worker) != len(workerknob.All) {
		t.Errorf("worker gets %v: want its %d knobs, record_cost 20ms, no API knob", worker, len(workerknob.All))
	}
}
