package experiments

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReportInChromium opens a run folder's report.html in headless
// Chromium: the browser must build every chart, draw a page that is not
// blank, and log no blocked load (report.html's Content-Security-Policy
// blocks and logs any request a page makes). make test points it at a
// run it just played (WHATIF_REPORT_DIR) and requires Chromium
// (WHATIF_CHROMIUM_REQUIRED=1); elsewhere it uses the recorded run in
// testdata, or skips with one line where there is no Chromium.
func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a browser: skipped with -short")
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("WHATIF_CHROMIUM_REQUIRED") == "1" {
			t.Fatal("chromium is missing: make deps installs it")
		}
		t.Skip("SKIP: no chromium on PATH (make deps installs it)")
	}
	dir := os.Getenv("WHATIF_REPORT_DIR")
	if dir == "" {
		dir = t.TempDir()
		for _, f := range []string{"summary.json", "timeline.jsonl"} {
			b, err := os.ReadFile(filepath.Join("testdata", "db-failover-quick", f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := Render(dir); err != nil {
			t.Fatal(err)
		}
	}
	page, err := filepath.Abs(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Count(readFile(t, page), "<svg ")
	if want == 0 {
		t.Fatalf("%s holds no chart", page)
	}
	profile := t.TempDir()
	run := func(args ...string) (stdout, stderr string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
			"--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0"}
		cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+page)...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, e.String())
		}
		return o.String(), e.String()
	}
	dom, log := run("--dump-dom")
	if !strings.Contains(dom, `http-equiv="Content-Security-Policy"`) {
		t.Error("the page carries no Content-Security-Policy: a load it made would go unblocked and unlogged")
	}
	if got := strings.Count(dom, "<svg "); got != want {
		t.Errorf("the browser built %d charts, the page has %d", got, want)
	}
	blocked := regexp.MustCompile(`(?m)^.*(violates the following Content Security Policy|Failed to load resource).*$`)
	for _, m := range blocked.FindAllString(log, -1) {
		t.Errorf("the page asked for something it may not load: %s", m)
	}
	shot := filepath.Join(dir, "report.png")
	run("--window-size=1500,2000", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	b := img.Bounds()
	inked, total := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r < 0xf000 || g < 0xf000 || bl < 0xf000 {
				inked++
			}
		}
	}
	if share := float64(inked) / float64(total); share < 0.01 {
		t.Errorf("the screenshot is blank: %.2f%% of it is not white (%s)", 100*share, shot)
	}
	t.Logf("%d charts built, %.1f%% of the page inked; screenshot %s", want, 100*float64(inked)/float64(total), shot)
}
