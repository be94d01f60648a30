package loadgen

import (
	"fmt"
	"math/rand/v2"
)

// mix picks an op per request, reproducibly for a given seed.
type mix struct {
	entries []mixEntry
	total   int
	rng     *rand.Rand
}

type mixEntry struct {
	op     Op
	client *Client
	upTo   int // cumulative weight
}

// newMix builds the picker; p must be valid. Entries without their own
// policy share one Client, hence one retry budget.
func newMix(p Plan) (*mix, error) {
	shared, err := NewClient(p.Policy)
	if err != nil {
		return nil, err
	}
	m := &mix{rng: rand.New(rand.NewPCG(uint64(p.Seed), 0x9e3779b97f4a7c15))}
	for _, w := range p.Mix {
		c := shared
		if w.Policy != nil {
			if c, err = NewClient(*w.Policy); err != nil {
				return nil, err
			}
		}
		m.total += w.Weight
		m.entries = append(m.entries, mixEntry{op: w.Op, client: c, upTo: m.total})
	}
	return m, nil
}

func (m *mix) pick() *mixEntry {
	if len(m.entries) == 1 {
		return &m.entries[0]
	}
	n := m.rng.IntN(m.total)
	for i := range m.entries {
		if n < m.entries[i].upTo {
			return &m.entries[i]
		}
	}
	return &m.entries[len(m.entries)-1]
}

// pickWeighted picks by weights w (one per entry) instead of the plan's;
// nil w is pick.
func (m *mix) pickWeighted(w []int) (*mixEntry, error) {
	if w == nil {
		return m.pick(), nil
	}
	if len(w) != len(m.entries) {
		return nil, fmt.Errorf("loadgen: Weights gave %d weights for %d ops", len(w), len(m.entries))
	}
	total := 0
	for i, x := range w {
		if x < 0 {
			return nil, fmt.Errorf("loadgen: Weights gave %s a negative weight (%d)", m.entries[i].op.Name(), x)
		}
		total += x
	}
	if total == 0 {
		return nil, fmt.Errorf("loadgen: Weights summed to zero")
	}
	n := m.rng.IntN(total)
	for i, x := range w {
		if n < x {
			return &m.entries[i], nil
		}
		n -= x
	}
	return &m.entries[len(m.entries)-1], nil // unreachable: n < total
}
