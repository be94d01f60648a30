package main

import (
	"context"
	"fmt"
	"io"

	"github.com/whatif-lab/whatif/compose"
	"github.com/whatif-lab/whatif/compose/docker"
	"github.com/whatif-lab/whatif/compose/local"
)

// backend is one way to run a stack; this file is the only place the CLI
// knows the two apart.
type backend interface {
	// offers is what a stack of this backend can do, known before it starts.
	offers() compose.Capabilities
	// start brings up a part of the stack; where says where the stack
	// lives, for the console.
	start(ctx context.Context, part compose.Part, logs io.Writer) (st stoppable, where string, err error)
	// reap removes whatever a crashed runner or server left at this base.
	reap(ctx context.Context) (what string, err error)
}

func (f *stackFlags) backend() (backend, error) {
	if f.Compose() {
		return composeBackend{f}, nil
	}
	bin, err := f.bin()
	if err != nil {
		return nil, err
	}
	return localBackend{f: f, bin: bin}, nil
}

type localBackend struct {
	f   *stackFlags
	bin string
}

func (b localBackend) offers() compose.Capabilities { return local.Offers() }

func (b localBackend) start(ctx context.Context, part compose.Part, logs io.Writer) (stoppable, string, error) {
	// a runner that still holds this base (or died) gives way
	if err := local.Reap(b.f.runDir()); err != nil {
		return nil, "", fmt.Errorf("removing leftovers of an earlier run: %w", err)
	}
	st, err := local.Start(ctx, local.Config{Topology: b.f.Topology(), RunDir: b.f.runDir(), BinDir: b.bin, Only: part.Only, APIArgs: part.APIArgs, Logs: logs})
	if err != nil {
		return nil, "", err
	}
	return st, "run dir " + b.f.runDir(), nil
}

func (b localBackend) reap(context.Context) (string, error) {
	// processes, data, run folder
	return "nothing left in " + b.f.runDir(), local.Reap(b.f.runDir())
}

type composeBackend struct{ f *stackFlags }

func (b composeBackend) offers() compose.Capabilities { return docker.Offers() }

// start: docker.Start first removes whatever a killed runner left at this base.
func (b composeBackend) start(ctx context.Context, part compose.Part, logs io.Writer) (stoppable, string, error) {
	st, err := docker.Start(ctx, docker.Config{Topology: b.f.Topology(), Only: part.Only, APIArgs: part.APIArgs, Logs: logs})
	if err != nil {
		return nil, "", err
	}
	return st, "compose project " + st.Project().Name + ", published on 127.0.0.1", nil
}

func (b composeBackend) reap(ctx context.Context) (string, error) {
	// containers, volumes, network
	return "no container, volume or network of " + docker.ProjectName(b.f.Base) + " is left", docker.Reap(ctx, b.f.Base)
}
