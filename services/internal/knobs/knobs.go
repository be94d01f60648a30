// Package knobs is a service's runtime settings: durations that start from
// a flag and change with PUT /admin/settings (experiments scale timers in
// quick mode). Each service declares its own Table; the runner checks a
// --set against the same table before any stack starts.
package knobs

import (
	"errors"
	"flag"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/whatif-lab/whatif/services/internal/config"
)

// Knob is one setting.
type Knob struct {
	Name   string // settings JSON key
	Flag   string
	Def    time.Duration
	Lo, Hi time.Duration
	Whole  bool // must be whole seconds (goes into an HTTP header)
	Help   string
}

// Check rejects d for a knob, naming it name (a flag or a JSON key).
func (k Knob) Check(name string, d time.Duration) error {
	if k.Whole {
		if err := config.WholeSeconds(name, d); err != nil {
			return err
		}
	}
	return config.DurationRange(name, d, k.Lo, k.Hi)
}

// Table is every knob of one service.
type Table []Knob

// ByName finds a knob.
func (t Table) ByName(name string) (Knob, bool) {
	for _, k := range t {
		if k.Name == name {
			return k, true
		}
	}
	return Knob{}, false
}

// Names lists every knob's name, sorted.
func (t Table) Names() string {
	var n []string
	for _, k := range t {
		n = append(n, k.Name)
	}
	sort.Strings(n)
	return strings.Join(n, ", ")
}

// Values maps knob name to value.
type Values map[string]time.Duration

// Parse validates a partial update {"name":"duration",...}; nothing
// is applied unless every entry is valid.
func (t Table) Parse(update map[string]string) (Values, error) {
	if len(update) == 0 {
		return nil, fmt.Errorf("no settings given; valid names: %s", t.Names())
	}
	out := Values{}
	for name, s := range update {
		k, ok := t.ByName(name)
		if !ok {
			return nil, fmt.Errorf("unknown setting %q; valid names: %s", name, t.Names())
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want a duration such as \"250ms\" or \"3s\"", name, s)
		}
		if err := k.Check(name, d); err != nil {
			return nil, err
		}
		out[name] = d
	}
	return out, nil
}

// Defaults is every knob at its default.
func (t Table) Defaults() Values {
	v := Values{}
	for _, k := range t {
		v[k.Name] = k.Def
	}
	return v
}

// Flags declares a flag per knob on fs (its default and help) and returns
// a function that, once fs has parsed, gives the values set.
func (t Table) Flags(fs *flag.FlagSet) func() Values {
	ptrs := make(map[string]*time.Duration, len(t))
	for _, k := range t {
		ptrs[k.Name] = fs.Duration(k.Flag, k.Def, k.Help)
	}
	return func() Values {
		v := make(Values, len(ptrs))
		for n, d := range ptrs {
			v[n] = *d
		}
		return v
	}
}

// CheckFlags rejects values outside their knob's range, naming the flag.
func (t Table) CheckFlags(v Values) error {
	var errs []error
	for _, k := range t {
		errs = append(errs, k.Check("--"+k.Flag, v[k.Name]))
	}
	return errors.Join(errs...)
}
