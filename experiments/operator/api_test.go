package operator

import "testing"

func TestFlatten(t *testing.T) {
	nums, texts := map[string]float64{}, map[string]string{}
	flatten("", map[string]any{"a": map[string]any{"b": 2.0, "s": "open"}, "t": true}, nums, texts)
	if nums["a.b"] != 2 || nums["t"] != 1 || texts["a.s"] != "open" {
		t.Fatalf("nums %v texts %v", nums, texts)
	}
}
