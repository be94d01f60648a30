package experiments

import (
	"strings"
	"testing"

	"github.com/whatif-lab/whatif/experiments/operator"
	"github.com/whatif-lab/whatif/loadgen"
)

func TestAuditEvents(t *testing.T) {
	acked := func(ids ...string) []loadgen.Result {
		var out []loadgen.Result
		for _, id := range ids {
			out = append(out, loadgen.Result{Op: "event", Key: id})
		}
		return out
	}
	cases := []struct {
		name    string
		acked   []loadgen.Result
		got     operator.Consumed
		want    EventAudit
		wantErr string
	}{
		{"every event once", acked("0", "1", "2", "5"),
			operator.Consumed{Distinct: 4, Ranges: [][2]int64{{0, 2}, {5, 5}}},
			EventAudit{Acked: 4}, ""},
		{"deleted by retention before consumption", acked("0", "1", "2", "3", "4"),
			operator.Consumed{Distinct: 2, Ranges: [][2]int64{{3, 4}}},
			EventAudit{Acked: 5, Lost: 3}, ""},
		{"finished twice after a crash", acked("7", "8"),
			operator.Consumed{Distinct: 2, Ranges: [][2]int64{{7, 8}}, Repeated: map[int64]uint32{8: 2}},
			EventAudit{Acked: 2, Duplicated: 1}, ""},
		{"consumed but never acknowledged", acked("1"),
			operator.Consumed{Distinct: 3, Ranges: [][2]int64{{0, 2}}},
			EventAudit{Acked: 1, Unacked: 2}, ""},
		{"nothing consumed", acked("1", "2"), operator.Consumed{}, EventAudit{Acked: 2, Lost: 2}, ""},
		{"an id that is not a number", acked("x"), operator.Consumed{}, EventAudit{}, "no event id"},
		{"an id acknowledged twice", acked("3", "3"), operator.Consumed{}, EventAudit{}, "acknowledged twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := AuditEvents(c.acked, c.got)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestConsumedHas(t *testing.T) {
	c := operator.Consumed{Ranges: [][2]int64{{0, 2}, {5, 5}, {9, 20}}}
	for id, want := range map[int64]bool{-1: false, 0: true, 2: true, 3: false, 5: true, 6: false, 9: true, 20: true, 21: false} {
		if got := c.Has(id); got != want {
			t.Errorf("Has(%d) = %v, want %v", id, got, want)
		}
	}
}
