package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tclog "github.com/testcontainers/testcontainers-go/log"

	"github.com/whatif-lab/whatif/cmd/whatif/args"
	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/compose/local"
	"github.com/whatif-lab/whatif/experiments"
)

// testcontainers prints a banner on its first docker connection; the CLI
// has its own output.
func init() { tclog.SetDefault(tclog.NewNoopLogger()) }

// stackFlags are the validated stack flags, with what this binary does
// with them: where its binaries and state live, how it starts a stack.
type stackFlags struct{ *args.Stack }

func (f *stackFlags) bin() (string, error) {
	if f.BinDir != "" {
		return f.BinDir, nil
	}
	if d := os.Getenv("WHATIF_BIN_DIR"); d != "" {
		return d, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	return filepath.Dir(exe), nil
}

// stateRoot holds one run folder per stack base.
func stateRoot() string { return local.DefaultStateRoot() }

func (f *stackFlags) runDir() string { return local.DefaultRunDir(f.Base) }

// stoppable is a running stack of either backend.
type stoppable interface {
	experiments.Stack
	Stop(ctx context.Context) error
	ReadyAfter() map[string]time.Duration
}

type runningStack struct {
	stack stoppable
	logs  *os.File
}

func (r *runningStack) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.stack.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "whatif: stopping the stack:", err)
	}
	if r.logs != nil {
		r.logs.Close()
	}
}

// start brings a stack up in this process; it dies with this process.
// only names the services to run (what they need is added); nil = all.
func (f *stackFlags) start(ctx context.Context, out io.Writer, part compose.Part) (*runningStack, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	b, err := f.backend()
	if err != nil {
		return nil, err
	}
	var logf *os.File
	var logs io.Writer // nil unless --logs: a nil *os.File is not a nil writer
	if f.Logs != "" {
		if logf, err = os.Create(f.Logs); err != nil {
			return nil, fmt.Errorf("--logs: %w", err)
		}
		logs = logf
	}
	t0 := time.Now()
	st, where, err := b.start(ctx, part, logs)
	if err != nil {
		if logf != nil {
			logf.Close()
		}
		return nil, fmt.Errorf("starting the %s stack: %w", f.Kind, err)
	}
	fmt.Fprintf(out, "stack up in %.1fs (ports %d-%d, %s)\n", time.Since(t0).Seconds(), f.Base, f.Base+compose.PortSpan-1, where)
	fmt.Fprintln(out, readyProfile(st.ReadyAfter()))
	return &runningStack{stack: st, logs: logf}, nil
}

// readyProfile is the cold-start profile: each service and when it was
// healthy, first to last.
func readyProfile(ready map[string]time.Duration) string {
	names := slices.Collect(maps.Keys(ready))
	slices.SortFunc(names, func(a, b string) int { return cmp.Compare(ready[a], ready[b]) })
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.1fs", n, ready[n].Seconds())
	}
	return "healthy after: " + strings.Join(parts, ", ")
}
