package experiments

import (
	"fmt"
	"slices"
	"strings"
)

// Cell is one run of the matrix: a variant at a load.
type Cell struct {
	Variant Variant
	Level   Level
}

func (c Cell) String() string { return string(c.Variant) + "/" + string(c.Level) }

// Matrix is every cell of the given variants and levels, variant-major
// (the order the runs are played in); nil means both of each.
func Matrix(vs []Variant, ls []Level) []Cell {
	if len(vs) == 0 {
		vs = []Variant{Unprotected, Protected}
	}
	if len(ls) == 0 {
		ls = []Level{Normal, Peak}
	}
	var cs []Cell
	for _, v := range vs {
		for _, l := range ls {
			cs = append(cs, Cell{v, l})
		}
	}
	return cs
}

// levelsOf is the load levels the cells play at, normal first; every
// level when cs is empty (the whole matrix).
func levelsOf(cs []Cell) []Level {
	var ls []Level
	for _, l := range []Level{Normal, Peak} {
		if len(cs) == 0 || slices.ContainsFunc(cs, func(c Cell) bool { return c.Level == l }) {
			ls = append(ls, l)
		}
	}
	return ls
}

// ParseCells reads "unprotected/peak,protected/normal": the runs to play,
// in the matrix's order whatever order they are written in. A cell named
// twice, an unknown variant or load, or an empty list is an error.
func ParseCells(s string) ([]Cell, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("no runs named: want variant/load pairs such as unprotected/peak,protected/normal")
	}
	var want []Cell
	for _, part := range strings.Split(s, ",") {
		v, l, ok := strings.Cut(strings.TrimSpace(part), "/")
		c := Cell{Variant(v), Level(l)}
		if !ok || !slices.Contains(Matrix(nil, nil), c) {
			return nil, fmt.Errorf("run %q: want variant/load with variant unprotected or protected and load normal or peak", part)
		}
		if slices.Contains(want, c) {
			return nil, fmt.Errorf("run %q named twice", part)
		}
		want = append(want, c)
	}
	var cs []Cell
	for _, c := range Matrix(nil, nil) {
		if slices.Contains(want, c) {
			cs = append(cs, c)
		}
	}
	return cs, nil
}
