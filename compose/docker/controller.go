package docker

import (
	"context"
	"fmt"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/whatif-lab/whatif/compose"
)

// controller implements compose.Controller on containers. A container is
// the service's whole process tree, so the semantics match local mode:
// Kill = SIGKILL of every process (docker kill; the data stays for a
// restart), Pause = freeze of every process (cgroup freezer, like SIGSTOP
// of the tree), Start = start again and await local mode's health check.
type controller struct{ s *Stack }

var (
	_ compose.Controller  = controller{}
	_ compose.CPUWeighter = controller{}
)

// lock serialises calls on one service and resolves its container.
func (c controller) lock(svc string) (string, func(), error) {
	if c.s.ctx.Err() != nil {
		return "", nil, fmt.Errorf("docker: %s: stack is stopped", svc)
	}
	mu, ok := c.s.locks[svc]
	if !ok {
		return "", nil, fmt.Errorf("docker: unknown service %q", svc)
	}
	mu.Lock()
	return c.s.id(svc), mu.Unlock, nil
}

// Kill SIGKILLs the container (every process in it) and waits until it has
// stopped.
func (c controller) Kill(ctx context.Context, svc string) error {
	id, unlock, err := c.lock(svc)
	if err != nil {
		return err
	}
	defer unlock()
	// Subscribe before the kill so the stop cannot be missed.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wait := c.s.cli.ContainerWait(wctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	st, err := c.s.inspect(ctx, id)
	if err != nil {
		return fmt.Errorf("docker: kill %s: %w", svc, err)
	}
	if !st.Running {
		return nil
	}
	if st.Paused {
		// The freezer holds signals; SIGKILL is delivered on thaw. Kill
		// first, then thaw, so nothing of it runs a single instruction.
		if _, err := c.s.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
			return fmt.Errorf("docker: kill %s: %w", svc, err)
		}
		_, _ = c.s.cli.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
	} else if _, err := c.s.cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("docker: kill %s: %w", svc, err)
	}
	select {
	case <-wait.Result:
		return nil
	case err := <-wait.Error:
		return fmt.Errorf("docker: kill %s: waiting for it to stop: %w", svc, err)
	case <-ctx.Done():
		return fmt.Errorf("docker: kill %s: %w", svc, ctx.Err())
	}
}

// Pause freezes every process of the container.
func (c controller) Pause(ctx context.Context, svc string) error {
	id, unlock, err := c.lock(svc)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := c.s.cli.ContainerPause(ctx, id, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("docker: pause %s: %w", svc, err)
	}
	return nil
}

// Resume thaws the container; resuming one that is not paused is a no-op,
// as SIGCONT to a running tree is in local mode.
func (c controller) Resume(ctx context.Context, svc string) error {
	id, unlock, err := c.lock(svc)
	if err != nil {
		return err
	}
	defer unlock()
	return c.resumeLocked(ctx, svc, id)
}

func (c controller) resumeLocked(ctx context.Context, svc, id string) error {
	st, err := c.s.inspect(ctx, id)
	if err != nil {
		return fmt.Errorf("docker: resume %s: %w", svc, err)
	}
	if !st.Paused {
		return nil
	}
	if _, err := c.s.cli.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("docker: resume %s: %w", svc, err)
	}
	return nil
}

// Start starts a killed container again (a pg node: Patroni restarts
// postgres on its kept data dir and rejoins via pg_rewind by itself) and
// returns once it is healthy (a pg node: leader, or replica streaming WAL).
// On a running or paused container it resumes and awaits health, so it is
// safe as a fault's Recover.
func (c controller) Start(ctx context.Context, svc string) error {
	if err := c.Launch(ctx, svc); err != nil {
		return err
	}
	return c.AwaitHealthy(ctx, svc)
}

// Launch starts svc's container again if it is not running (and unpauses
// it if it is paused), without waiting for it.
func (c controller) Launch(ctx context.Context, svc string) error {
	id, unlock, err := c.lock(svc)
	if err != nil {
		return err
	}
	defer unlock()
	st, err := c.s.inspect(ctx, id)
	if err == nil {
		switch {
		case st.Paused:
			err = c.resumeLocked(ctx, svc, id)
		case !st.Running:
			_, err = c.s.cli.ContainerStart(ctx, id, client.ContainerStartOptions{})
		}
	}
	if err != nil {
		return c.s.failure(svc, fmt.Errorf("start: %w", err))
	}
	return nil
}

// AwaitHealthy waits, at most StartTimeout, for svc's health check (local
// mode's Go probe).
func (c controller) AwaitHealthy(ctx context.Context, svc string) error {
	ctx, cancel := context.WithTimeout(ctx, c.s.cfg.StartTimeout)
	defer cancel()
	stop := context.AfterFunc(c.s.ctx, cancel) // Stop aborts the wait
	defer stop()
	return c.s.awaitHealthy(ctx, svc)
}

var _ compose.RestartCounter = controller{}

// Restarts reports the engine's restart count of svc's container and the
// OOM kills the stack has seen in it (-1 if the event stream broke).
func (c controller) Restarts(ctx context.Context, svc string) (compose.Restarts, error) {
	id, unlock, err := c.lock(svc)
	if err != nil {
		return compose.Restarts{}, err
	}
	defer unlock()
	r, err := c.s.cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return compose.Restarts{}, fmt.Errorf("docker: %s: %w", svc, err)
	}
	return compose.Restarts{Restarts: r.Container.RestartCount, OOMKills: c.s.ooms.kills(svc)}, nil
}

// SetCPUWeight sets the container's CPU shares (docker --cpu-shares): it
// weighs every process of the container, now and after a restart.
func (c controller) SetCPUWeight(ctx context.Context, svc string, weight int) error {
	if err := compose.CheckCPUWeight(weight); err != nil {
		return fmt.Errorf("docker: %s: %w", svc, err)
	}
	id, unlock, err := c.lock(svc)
	if err != nil {
		return err
	}
	defer unlock()
	res := &container.Resources{CPUShares: int64(weight)}
	if _, err := c.s.cli.ContainerUpdate(ctx, id, client.ContainerUpdateOptions{Resources: res}); err != nil {
		return fmt.Errorf("docker: cpu weight of %s: %w", svc, err)
	}
	return nil
}
