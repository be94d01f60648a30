package experiments

import (
	"errors"
	"fmt"
	"math"
)

// Status of one check in one run. Unknown means the run could not show
// either way (weak baseline, missing data) and is never counted as a pass.
type Status int

const (
	Unknown Status = iota
	Pass
	Fail
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	}
	return "UNKNOWN"
}

// MarshalText makes statuses readable in summary.json.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Outcome is one check judged on one run.
type Outcome struct {
	Check     string  `json:"check"`
	Status    Status  `json:"status"`
	Measured  string  `json:"measured"`
	Value     float64 `json:"value"`
	Threshold string  `json:"threshold"`
	Margin    string  `json:"margin,omitempty"` // how far the value is on the passing side (negative: failing)
	Detail    string  `json:"detail,omitempty"`
	// Sense (">=" or "<=") and Bound are the threshold as numbers, for
	// `whatif compare`; AnyOf has none.
	Sense string  `json:"sense,omitempty"`
	Bound float64 `json:"bound,omitempty"`
}

// MarginValue is how far Value lies on the passing side of Bound; ok is
// false for a check without a numeric threshold.
func (o Outcome) MarginValue() (m float64, ok bool) {
	switch o.Sense {
	case ">=":
		return o.Value - o.Bound, true
	case "<=":
		return o.Bound - o.Value, true
	}
	return 0, false
}

// Check judges a run.
type Check struct {
	Name  string
	Level Level // "" = every level; else judged only in runs at this level
	Eval  func(r *Run) Outcome
}

// AtPeak restricts a check to peak-load runs (the seed's "at 10x" claims).
func AtPeak(c Check) Check {
	c.Level = Peak
	c.Name += " (peak)"
	return c
}

// AtNormal restricts a check to normal-load runs.
func AtNormal(c Check) Check {
	c.Level = Normal
	c.Name += " (normal)"
	return c
}

// Measure extracts one number from a run. An error means the run holds no
// data to decide on, and makes the check Unknown.
type Measure func(r *Run) (float64, error)

// Explained is a measure that also says what lies behind its value (the
// error classes behind an error rate); a failing check reports it.
type Explained func(r *Run) (v float64, why string, err error)

// Measurer is a Measure or an Explained: what a check compares.
type Measurer interface {
	Read(r *Run) (v float64, why string, err error)
}

// Read is the measure's value with no explanation.
func (m Measure) Read(r *Run) (float64, string, error) {
	v, err := m(r)
	return v, "", err
}

// Read is the measure's value and explanation.
func (m Explained) Read(r *Run) (float64, string, error) { return m(r) }

// Unit formats a measured value for reports.
type Unit func(float64) string

var (
	Ratio   Unit = func(v float64) string { return fmt.Sprintf("%.2fx", v) }
	Percent Unit = func(v float64) string { return fmt.Sprintf("%.2f%%", v*100) }
	Seconds Unit = func(v float64) string { return fmt.Sprintf("%.2fs", v) }
	Count   Unit = func(v float64) string { return fmt.Sprintf("%.0f", v) }
)

// ErrNoData marks a measurement that had nothing to measure.
var ErrNoData = errors.New("no data")

// Beyond is a measure's error when its value lies past what the run could
// observe: it is more than Value (a recovery the run did not see by its
// end). A Value at or past a check's bound decides it (an upper bound
// fails, a lower one passes); below the bound the check is Unknown.
type Beyond struct {
	Value float64
	Why   string
}

func (b *Beyond) Error() string { return b.Why }

// AtLeast passes when the measured value is >= min.
func AtLeast(name string, m Measurer, min float64, u Unit) Check {
	return compare(name, m, u, ">=", min)
}

// AtMost passes when the measured value is <= max.
func AtMost(name string, m Measurer, max float64, u Unit) Check {
	return compare(name, m, u, "<=", max)
}

// compare judges by margin: how far the value lies on the passing side.
func compare(name string, m Measurer, u Unit, sense string, bound float64) Check {
	return Check{Name: name, Eval: func(r *Run) Outcome {
		o := Outcome{Check: name, Threshold: sense + " " + u(bound), Sense: sense, Bound: bound}
		v, why, err := m.Read(r)
		if b := (*Beyond)(nil); errors.As(err, &b) && b.Value >= bound {
			o.Value, o.Measured, o.Detail = b.Value, "> "+u(b.Value), b.Why
			margin, _ := o.MarginValue()
			o.Margin = u(margin)
			o.Status = Pass
			if sense == "<=" {
				o.Status = Fail
			}
			return o
		}
		if err != nil {
			o.Status, o.Measured, o.Detail = Unknown, "n/a", err.Error()
			return o
		}
		if math.IsNaN(v) {
			o.Status, o.Measured, o.Detail = Unknown, "n/a", "measurement is NaN"
			return o
		}
		o.Value, o.Measured = v, u(v)
		margin, _ := o.MarginValue()
		o.Margin = u(margin)
		if margin >= 0 {
			o.Status = Pass
		} else {
			o.Status, o.Detail = Fail, why
		}
		return o
	}}
}

// AnyOf passes when at least one of the checks passes; it fails only when
// all of them fail, and is Unknown otherwise. The seed often names two
// symptoms of one cascade ("errors, or p99 at the timeout").
func AnyOf(name string, cs ...Check) Check {
	return Check{Name: name, Eval: func(r *Run) Outcome {
		o := Outcome{Check: name, Status: Fail}
		for i, c := range cs {
			sub := c.Eval(r)
			sep := ""
			if i > 0 {
				sep = "; "
			}
			o.Measured += sep + sub.Check + " " + sub.Measured
			o.Threshold += sep + sub.Threshold
			switch sub.Status {
			case Pass:
				o.Status = Pass
			case Unknown:
				if o.Status == Fail {
					o.Status = Unknown
				}
				o.Detail += sub.Detail
			}
		}
		return o
	}}
}

// judge evaluates checks on a run; a weak baseline turns every verdict that
// is not already Unknown into Unknown, because nothing measured against a
// broken baseline proves anything.
func judge(r *Run, cs []Check) []Outcome {
	weak := r.baselineProblem()
	out := make([]Outcome, 0, len(cs)+1)
	for _, c := range cs {
		if c.Level != "" && c.Level != r.Level {
			continue
		}
		o := c.Eval(r)
		if weak != "" && o.Status != Unknown {
			o.Status, o.Detail = Unknown, "weak baseline: "+weak
		}
		out = append(out, o)
	}
	return out
}

// Overall folds outcomes: any Fail fails, else any Unknown is Unknown.
func Overall(os []Outcome) Status {
	st := Pass
	for _, o := range os {
		switch o.Status {
		case Fail:
			return Fail
		case Unknown:
			st = Unknown
		}
	}
	return st
}
