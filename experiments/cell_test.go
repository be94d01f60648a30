package experiments

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseCells(t *testing.T) {
	up, un := Cell{Unprotected, Peak}, Cell{Unprotected, Normal}
	pn, pp := Cell{Protected, Normal}, Cell{Protected, Peak}
	for _, c := range []struct {
		in   string
		want []Cell
		err  string
	}{
		{"unprotected/peak", []Cell{up}, ""},
		// the matrix's order, whatever the order written
		{"protected/peak, unprotected/peak,protected/normal", []Cell{up, pn, pp}, ""},
		{"protected/normal,protected/peak,unprotected/normal,unprotected/peak", []Cell{un, up, pn, pp}, ""},
		{"", nil, "no runs named"},
		{"protected", nil, `run "protected": want variant/load`},
		{"protected/huge", nil, `run "protected/huge"`},
		{"half/peak", nil, `run "half/peak"`},
		{"protected/peak,", nil, `run ""`},
		{"protected/peak/x", nil, `run "protected/peak/x"`},
		{"protected/peak,protected/peak", nil, `run "protected/peak" named twice`},
	} {
		got, err := ParseCells(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseCells(%q) = %v, %v; want error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseCells(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestMatrixDefaultsToEveryCell(t *testing.T) {
	want := []Cell{{Unprotected, Normal}, {Unprotected, Peak}, {Protected, Normal}, {Protected, Peak}}
	if got := Matrix(nil, nil); !reflect.DeepEqual(got, want) {
		t.Fatalf("Matrix(nil, nil) = %v, want %v", got, want)
	}
	if got := Matrix([]Variant{Protected}, nil); !reflect.DeepEqual(got, want[2:]) {
		t.Fatalf("Matrix(protected) = %v, want %v", got, want[2:])
	}
}

func FuzzParseCells(f *testing.F) {
	for _, s := range []string{"", "unprotected/peak", "protected/peak,protected/peak", "/", ",", "protected/normal, unprotected/peak"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cs, err := ParseCells(s)
		if err != nil {
			return
		}
		if len(cs) == 0 || len(cs) > 4 {
			t.Fatalf("%q: %d cells", s, len(cs))
		}
		all := Matrix(nil, nil)
		last := -1
		for _, c := range cs {
			i := slices.Index(all, c)
			if i <= last {
				t.Fatalf("%q: %v out of the matrix or its order", s, cs)
			}
			last = i
		}
	})
}

func TestLevelsOf(t *testing.T) {
	cases := []struct {
		name string
		runs []Cell
		want []Level
	}{
		{"no runs named: the whole matrix", nil, []Level{Normal, Peak}},
		{"peak only", []Cell{{Unprotected, Peak}, {Protected, Peak}}, []Level{Peak}},
		{"both, normal first whatever the order", []Cell{{Protected, Peak}, {Protected, Normal}}, []Level{Normal, Peak}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := levelsOf(c.runs); !slices.Equal(got, c.want) {
				t.Fatalf("levelsOf(%v) = %v, want %v", c.runs, got, c.want)
			}
		})
	}
}
