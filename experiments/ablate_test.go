package experiments

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestAblationUnproven(t *testing.T) {
	fail := []Outcome{{Check: "client error rate", Status: Fail, Measured: "12.00%", Threshold: "<= 1.00%"}}
	ref := func(n, p Status) []AblationCell {
		return []AblationCell{{Level: Normal, Status: n}, {Level: Peak, Status: p}}
	}
	for _, c := range []struct {
		name string
		a    Ablation
		want []string
	}{
		{"each protection breaks a check at some load",
			Ablation{Reference: ref(Pass, Pass), Rows: []AblationCell{
				{Protection: "l1_cache", Level: Normal, Status: Fail, Broke: fail},
				{Protection: "db_breaker", Level: Normal, Status: Pass},
				{Protection: "l1_cache", Level: Peak, Status: Pass},
				{Protection: "db_breaker", Level: Peak, Status: Fail, Broke: fail},
			}}, nil},
		{"a protection that breaks nothing is named",
			Ablation{Reference: ref(Pass, Pass), Rows: []AblationCell{
				{Protection: "l1_cache", Level: Normal, Status: Fail, Broke: fail},
				{Protection: "db_breaker", Level: Normal, Status: Pass},
			}}, []string{"db_breaker: switched off alone, it broke no check"}},
		{"an Unknown run proves nothing",
			Ablation{Reference: ref(Pass, Pass), Rows: []AblationCell{
				{Protection: "db_breaker", Level: Normal, Status: Unknown},
			}}, []string{"db_breaker: switched off alone, it broke no check"}},
		{"a failure where the reference failed too proves nothing",
			Ablation{Reference: ref(Fail, Pass), Rows: []AblationCell{
				{Protection: "l1_cache", Level: Normal, Status: Fail, Broke: fail},
				{Protection: "l1_cache", Level: Peak, Status: Pass},
			}}, []string{
				"the reference run at normal load (everything on) is FAIL, so nothing is shown at that load",
				"l1_cache: switched off alone, it broke no check",
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.a.Unproven(); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Unproven() = %q, want %q", got, c.want)
			}
		})
	}
}

func TestAblationMarkdown(t *testing.T) {
	a := Ablation{Experiment: "redis-crash", Levels: []Level{Normal, Peak},
		Reference: []AblationCell{{Level: Normal, Status: Pass}, {Level: Peak, Status: Pass}},
		Rows: []AblationCell{
			{Protection: "l1_cache", Level: Normal, Status: Fail, Broke: []Outcome{{Check: "L1 share", Status: Fail, Measured: "0.00%", Threshold: ">= 80.00%"}}},
			{Protection: "l1_cache", Level: Peak, Status: Unknown, Err: "prepare: a | b"},
		}}
	var b bytes.Buffer
	if err := a.Markdown(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| switched off | normal | peak |",
		"| (none: reference) | PASS | PASS |",
		"| `l1_cache` | FAIL: L1 share: 0.00% vs >= 80.00% | UNKNOWN (prepare: a \\| b) |",
		"Every protection is needed",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("ablation.md lacks %q:\n%s", want, b.String())
		}
	}
}
