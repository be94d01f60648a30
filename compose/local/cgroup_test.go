package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProbeCgroup runs the capability probe against fake controller roots:
// one with the controller's file, one without. The probe leaves nothing.
func TestProbeCgroup(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, memLimitFile), []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := probeCgroup(root, memLimitFile, memWhat); err != nil {
		t.Errorf("probe of a usable root: %v", err)
	}
	if ents, _ := os.ReadDir(root); len(ents) != 1 {
		t.Errorf("the probe left %d entries in %s, want only %s", len(ents), root, memLimitFile)
	}
	if err := probeCgroup(t.TempDir(), memLimitFile, memWhat); err == nil {
		t.Error("probe of a root without the controller's file: no error")
	}
}

// TestCapabilitiesOneLine: whatever this machine allows, the reason for a
// missing capability is one line (the experiments print it as is).
func TestCapabilitiesOneLine(t *testing.T) {
	for name, f := range map[string]func() error{"MemoryLimits": MemoryLimits, "CPUWeights": CPUWeights} {
		err := f()
		t.Logf("uid %d: %s() = %v", os.Geteuid(), name, err)
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("%s() = %q: more than one line", name, err)
		}
	}
}
