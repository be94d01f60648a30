package local

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemoveHalfMadeTemplates(t *testing.T) {
	root := t.TempDir()
	cache := filepath.Join(root, ".pgtemplate-abc")
	for _, d := range []string{cache + ".tmp-123/data", cache + ".tmp-456", cache + "/data", filepath.Join(root, ".pgtemplate-other.tmp-1")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeHalfMadeTemplates(cache)
	for d, want := range map[string]bool{cache + ".tmp-123": false, cache + ".tmp-456": false, cache: true, filepath.Join(root, ".pgtemplate-other.tmp-1"): true} {
		if _, err := os.Stat(d); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", d, err == nil, want)
		}
	}
}
