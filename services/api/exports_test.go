package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/whatif-lab/whatif/services/api/knob"
)

// exportApp is an app with only what GET /exports uses.
func exportApp(t *testing.T, protections string, cacheBytes int64) *app {
	t.Helper()
	prot, err := newProtections(protections)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := newExportCache(cacheBytes)
	if err != nil {
		t.Fatal(err)
	}
	return &app{prot: prot, exports: ex, exportCap: 1 << 20}
}

func getExportCode(a *app, path string) int {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /exports/{id}", a.getExport)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code
}

func TestExportAnswers(t *testing.T) {
	tests := []struct {
		name, protections, path string
		want                    int
	}{
		{"small export", "all", "/exports/1?kb=64", 200},
		{"at the cap", "all", "/exports/1?kb=1024", 200},
		{"above the cap", "all", "/exports/1?kb=1025", 413},
		{"above the cap, payload_cap off", "none", "/exports/1?kb=4096", 200},
		{"kb missing", "all", "/exports/1", 400},
		{"kb zero", "none", "/exports/1?kb=0", 400},
		{"kb above 1 GiB", "none", fmt.Sprintf("/exports/1?kb=%d", maxExportKB+1), 400},
		{"negative id", "all", "/exports/-1?kb=1", 400},
		{"id not a number", "all", "/exports/x?kb=1", 400},
	}
	for _, tc := range tests {
		a := exportApp(t, tc.protections, 32<<20)
		if got := getExportCode(a, tc.path); got != tc.want {
			t.Errorf("%s: GET %s = %d, want %d", tc.name, tc.path, got, tc.want)
		}
	}
}

// TestExportCacheGrowth: without cache_bound every distinct export stays;
// with it the cache holds at most its byte budget.
func TestExportCacheGrowth(t *testing.T) {
	const budget = 4 << 20
	tests := []struct {
		protections string
		wantAtMost  int64
		wantAtLeast int64
	}{
		{"none", 1 << 40, 100 * 64 << 10},
		{"cache_bound", budget, 1},
	}
	for _, tc := range tests {
		a := exportApp(t, tc.protections, budget)
		for id := range 100 {
			if code := getExportCode(a, fmt.Sprintf("/exports/%d?kb=64", id)); code != 200 {
				t.Fatalf("%s: export %d answered %d", tc.protections, id, code)
			}
		}
		_, bytes := a.exports.size()
		if bytes > tc.wantAtMost || bytes < tc.wantAtLeast {
			t.Errorf("%s: cache holds %d bytes after 100 exports of 64 KiB, want in [%d, %d]", tc.protections, bytes, tc.wantAtLeast, tc.wantAtMost)
		}
		if a.count.exportsBuilt.Load() != 100 {
			t.Errorf("%s: built %d, want 100", tc.protections, a.count.exportsBuilt.Load())
		}
	}
}

func TestRenderExportFillsEveryByte(t *testing.T) {
	for _, size := range []int{1, 100, 1 << 10, 1<<20 + 7} {
		b := renderExport(42, size)
		if len(b) != size {
			t.Fatalf("size %d: got %d bytes", size, len(b))
		}
		for i, c := range b {
			if c == 0 {
				t.Fatalf("size %d: byte %d never written", size, i)
			}
		}
	}
}

func TestCgroupMemFiles(t *testing.T) {
	tests := []struct {
		name, cgroup string
		want         [][2]string
	}{
		{"v1 memory line", "4:memory:/whatif-1-app0\n0::/\n", [][2]string{
			{"/r/memory/whatif-1-app0/memory.usage_in_bytes", "/r/memory/whatif-1-app0/memory.limit_in_bytes"},
			{"/r/memory/memory.usage_in_bytes", "/r/memory/memory.limit_in_bytes"}}},
		{"v1 joint controllers", "5:cpu,memory:/x\n", [][2]string{
			{"/r/memory/x/memory.usage_in_bytes", "/r/memory/x/memory.limit_in_bytes"},
			{"/r/memory/memory.usage_in_bytes", "/r/memory/memory.limit_in_bytes"}}},
		{"v2 only", "0::/docker/abc\n", [][2]string{
			{"/r/docker/abc/memory.current", "/r/docker/abc/memory.max"},
			{"/r/memory.current", "/r/memory.max"}}},
		{"v2 namespaced root", "0::/\n", [][2]string{{"/r/memory.current", "/r/memory.max"}}},
		{"nothing", "", nil},
	}
	for _, tc := range tests {
		if got := cgroupMemFiles("/r", []byte(tc.cgroup)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	a := exportApp(t, "all", 1<<20)
	a.stateFile = path
	a.settings.v = knob.Values{}
	if err := a.loadState(path); err != nil {
		t.Fatalf("a missing state file is a first start, got %v", err)
	}
	if err := a.prot.Apply(map[string]bool{protCacheBound: false, protPayloadCap: false}); err != nil {
		t.Fatal(err)
	}
	if err := a.saveState(path); err != nil {
		t.Fatal(err)
	}
	b := exportApp(t, "all", 1<<20)
	b.settings.v = knob.Values{}
	if err := b.loadState(path); err != nil {
		t.Fatal(err)
	}
	if b.prot.On(protCacheBound) || b.prot.On(protPayloadCap) || !b.prot.On(protL1Cache) {
		t.Errorf("restored protections %v, want cache_bound and payload_cap off, the rest on", b.prot.Snapshot())
	}
	if err := os.WriteFile(path, []byte(`{"protections":{"no_such":true}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.loadState(path); err == nil {
		t.Error("a state file naming an unknown protection was accepted")
	}
}
