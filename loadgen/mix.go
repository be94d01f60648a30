package loadgen

import "math/rand/v2"

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
