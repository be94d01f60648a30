package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/whatif-lab/whatif/cmd/whatif/args"
	"github.com/whatif-lab/whatif/compose"
)

// serveCmd is the hidden command `whatif up` runs detached: it holds the
// stack (and its embedded Toxiproxy) until `whatif down` signals it.
const serveCmd = "_serve"

func (f *stackFlags) pidFile() string {
	return filepath.Join(stateRoot(), fmt.Sprintf("serve-%d.pid", f.Base))
}

func (f *stackFlags) serveLog() string {
	return filepath.Join(stateRoot(), fmt.Sprintf("serve-%d.log", f.Base))
}

// servicesFile lists the services a `whatif up` stack runs, one a line.
func (f *stackFlags) servicesFile() string {
	return filepath.Join(stateRoot(), fmt.Sprintf("serve-%d.services", f.Base))
}

// servedServices is what the stack at this base runs (nil if unknown).
func (f *stackFlags) servedServices() map[string]bool {
	b, err := os.ReadFile(f.servicesFile())
	if err != nil {
		return nil
	}
	out := map[string]bool{}
	for _, l := range strings.Fields(string(b)) {
		out[l] = true
	}
	return out
}

func cmdUp(ctx context.Context, argv []string) (int, error) {
	// _serve parses the same args again; this only checks them first
	sf, _, err := parseUpFlags("up", argv)
	if err != nil {
		return 2, err
	}
	if pid, ok := sf.servePID(); ok {
		return 1, fmt.Errorf("a stack is already up at base %d (pid %d); whatif down --base %d", sf.Base, pid, sf.Base)
	}
	if err := os.MkdirAll(stateRoot(), 0o755); err != nil {
		return 1, err
	}
	os.Remove(sf.pidFile())
	logf, err := os.Create(sf.serveLog())
	if err != nil {
		return 1, err
	}
	defer logf.Close()
	exe, err := os.Executable()
	if err != nil {
		return 1, err
	}
	cmd := exec.Command(exe, append([]string{serveCmd}, argv...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this shell command
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 1, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, ok := sf.servePID(); ok {
			fmt.Printf("stack up in %.1fs at base %d (log %s); whatif status / whatif down --base %d\n",
				time.Since(t0).Seconds(), sf.Base, sf.serveLog(), sf.Base)
			return 0, nil
		}
		select {
		case err := <-exited:
			return 1, fmt.Errorf("the stack did not come up (%v); its log:\n%s", err, tail(sf.serveLog(), 20))
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			return 1, ctx.Err()
		case <-tick.C:
		}
	}
}

func cmdServe(ctx context.Context, argv []string) (int, error) {
	sf, part, err := parseUpFlags(serveCmd, argv)
	if err != nil {
		return 2, err
	}
	st, err := sf.start(ctx, os.Stdout, part)
	if err != nil {
		return 1, err
	}
	defer st.close()
	// status lists what this stack runs, which --for may have narrowed
	running := append(st.stack.Services(), compose.SvcToxiproxy)
	if err := os.WriteFile(sf.servicesFile(), []byte(strings.Join(running, "\n")+"\n"), 0o644); err != nil {
		return 1, err
	}
	defer os.Remove(sf.servicesFile())
	if err := os.WriteFile(sf.pidFile(), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return 1, err
	}
	defer os.Remove(sf.pidFile())
	<-ctx.Done()
	fmt.Println("stopping")
	return 0, nil
}

// parseUpFlags parses up's flags (args.ParseUp).
func parseUpFlags(cmd string, argv []string) (stackFlags, compose.Part, error) {
	s, part, err := args.ParseUp(cmd, argv)
	return stackFlags{s}, part, err
}

// parseStackFlags parses a command that takes only the stack flags.
func parseStackFlags(cmd string, argv []string) (stackFlags, error) {
	s, err := args.ParseStack(cmd, argv)
	return stackFlags{s}, err
}

// servePID is the pid of a live `_serve` for this base.
func (f *stackFlags) servePID() (int, bool) {
	b, err := os.ReadFile(f.pidFile())
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	if syscall.Kill(pid, 0) != nil {
		return 0, false
	}
	return pid, true
}

func cmdDown(ctx context.Context, argv []string) (int, error) {
	sf, err := parseStackFlags("down", argv)
	if err != nil {
		return 2, err
	}
	if pid, ok := sf.servePID(); ok {
		syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(60 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond) // polling a foreign pid: no event to await
		}
		if syscall.Kill(pid, 0) == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	os.Remove(sf.pidFile())
	os.Remove(sf.serveLog())
	os.Remove(sf.servicesFile())
	b, err := sf.backend()
	if err != nil {
		return 1, err
	}
	what, err := b.reap(ctx)
	if err != nil {
		return 1, err
	}
	fmt.Printf("stack at base %d is down; %s\n", sf.Base, what)
	return 0, nil
}

func cmdStatus(ctx context.Context, argv []string) (int, error) {
	sf, err := parseStackFlags("status", argv)
	if err != nil {
		return 2, err
	}
	pid, up := sf.servePID()
	if !up {
		fmt.Printf("no stack is up at base %d (whatif up --base %d)\n", sf.Base, sf.Base)
		return 1, nil
	}
	fmt.Printf("stack at base %d, served by pid %d\n", sf.Base, pid)
	top := sf.Topology()
	runs := sf.servedServices()
	served := func(svc string) bool { return runs == nil || runs[svc] }
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tPORT\tLISTENING")
	bad := 0
	for _, s := range top.Services {
		if !served(s.Name) {
			continue
		}
		for name, p := range s.Ports {
			ok := listening(p)
			if !ok {
				bad++
			}
			fmt.Fprintf(tw, "%s\t%s=%d\t%v\n", s.Name, name, p, ok)
		}
	}
	for _, l := range top.Links {
		if sf.Compose() {
			break // the proxies listen inside the stack's network only
		}
		if !served(l.To) {
			continue
		}
		ok := listening(l.Listen)
		if !ok {
			bad++
		}
		fmt.Fprintf(tw, "link %s\t%d -> %d\t%v\n", l.Name, l.Listen, l.Upstream, ok)
	}
	tw.Flush()
	if bad > 0 {
		return 1, errors.New("some listeners are down")
	}
	return 0, nil
}

func listening(port int) bool {
	c, err := net.DialTimeout("tcp", compose.Addr(port), 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
