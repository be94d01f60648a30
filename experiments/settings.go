package experiments

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/services/api/knob"
	workerknob "github.com/whatif-lab/whatif/services/worker/knob"
)

// allKnobs are the knobs of every service the runner sets: the API's and
// the worker pool's (their names are disjoint, settings_test.go). Each
// service is sent only its own (knobsOf).
var allKnobs = slices.Concat(knob.All, workerknob.All)

// knobsOf keeps the settings a service's table has.
func knobsOf(set map[string]string, t []knob.Knob) map[string]string {
	out := map[string]string{}
	for _, k := range t {
		if v, ok := set[k.Name]; ok {
			out[k.Name] = v
		}
	}
	return out
}

// runSettings is every knob a run starts from: the services' defaults, the
// experiment's own settings, then the operator's --set, and the scaled ones
// shrunk with the phases. Every knob is sent, so a run on a standing stack
// never inherits the previous experiment's values.
func runSettings(x Experiment, override map[string]string, scale float64) (map[string]string, error) {
	set := map[string]string{}
	for _, k := range allKnobs {
		set[k.Name] = k.Def.String()
	}
	for k, v := range x.Settings {
		set[k] = v
	}
	for k, v := range override {
		set[k] = v
	}
	if _, err := allKnobs.Parse(set); err != nil {
		return nil, fmt.Errorf("%s settings: %w", x.Name, err)
	}
	for _, k := range x.ScaledSettings {
		if _, ok := set[k]; !ok {
			return nil, fmt.Errorf("%s: scaled setting %q is not a knob; valid names: %s", x.Name, k, allKnobs.Names())
		}
		d, _ := time.ParseDuration(set[k]) // knob.Parse accepted it
		set[k] = scaleDur(d, scale).String()
		if _, err := allKnobs.Parse(map[string]string{k: set[k]}); err != nil {
			return nil, fmt.Errorf("%s at time scale %g: %w", x.Name, scale, err)
		}
	}
	return set, nil
}

// ParseSet reads a --set value, "name=duration,name=duration", and checks
// each against the services' knob tables.
func ParseSet(s string) (map[string]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("want name=duration,...; valid names: %s", allKnobs.Names())
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		name, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want name=duration, e.g. query_cost=40ms", kv)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%s given twice", name)
		}
		out[name] = val
	}
	if _, err := allKnobs.Parse(out); err != nil {
		return nil, err
	}
	return out, nil
}

// overridden lists the knobs --set changed, sorted, for the report.
func overridden(o map[string]string) []string {
	var out []string
	for k, v := range o {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// CheckSettings rejects options whose knobs the experiment cannot run
// with, at the time scale of each run's load level (every level when
// o.Runs is empty), before any stack starts.
func CheckSettings(x Experiment, o Options) error {
	for _, lv := range levelsOf(o.Runs) {
		if _, err := runSettings(x, o.Settings, x.ScaleFor(o.Scale, lv)); err != nil {
			return err
		}
	}
	return nil
}
