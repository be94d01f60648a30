package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// target is the system under load: GET / answers "ok"; POST /stall?for=2s
// makes every other request block for that long and answers when the stall
// is over, so the caller learns both ends of the stall on its own clock.
type target struct {
	mu   sync.Mutex
	gate chan struct{} // non-nil while stalled; closed when the stall ends
}

func (t *target) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/stall" {
		t.stall(w, r)
		return
	}
	t.mu.Lock()
	gate := t.gate
	t.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	io.WriteString(w, "ok\n")
}

func (t *target) stall(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.URL.Query().Get("for"))
	if err != nil || d <= 0 {
		http.Error(w, "want ?for=<positive duration>", http.StatusBadRequest)
		return
	}
	gate := make(chan struct{})
	t.mu.Lock()
	if t.gate != nil {
		t.mu.Unlock()
		http.Error(w, "already stalled", http.StatusConflict)
		return
	}
	t.gate = gate
	t.mu.Unlock()
	from := time.Now()
	time.Sleep(d) // the stall itself: this server's job is to be slow
	t.mu.Lock()
	t.gate = nil
	t.mu.Unlock()
	close(gate)
	to := time.Now()
	// Wall-clock nanoseconds: comparable across processes on one machine,
	// and exact where the caller's own clock would see a delayed answer.
	fmt.Fprintf(w, "%d %d\n", from.UnixNano(), to.UnixNano())
}

// server is a running target and how to stop it.
type server struct {
	URL  string
	Desc string
	stop func()
}

// startServer runs the target either in a child process (default: the
// generators' CPU is then measured without the server's) or in-process.
func startServer(mode string) (*server, error) {
	switch mode {
	case "inproc":
		s := httptest.NewServer(&target{})
		return &server{URL: s.URL, Desc: "in-process (its CPU counts in section 2)", stop: s.Close}, nil
	case "process":
		return startChild()
	}
	return nil, fmt.Errorf("unknown -server %q (want process or inproc)", mode)
}

// startChild re-executes this binary with -serve. The child prints its
// address and exits when its stdin closes, so it cannot outlive us.
func startChild() (*server, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop := func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		stop()
		return nil, fmt.Errorf("server child did not report its address (got %q): %v", line, err)
	}
	return &server{URL: "http://" + addr, Desc: fmt.Sprintf("child process pid %d", cmd.Process.Pid), stop: stop}, nil
}

// serve is the child's side: listen on loopback, report, serve till stdin ends.
func serve() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: &target{}}
	fmt.Printf("listening %s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stallServer asks the target to stall for d and returns when the stall
// began and ended, as the server saw it.
func stallServer(base string, d time.Duration) (from, to time.Time, err error) {
	resp, err := http.Post(base+"/stall?for="+d.String(), "text/plain", nil)
	if err != nil {
		return from, to, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return from, to, err
	}
	if resp.StatusCode != http.StatusOK {
		return from, to, fmt.Errorf("stall request: %s: %s", resp.Status, body)
	}
	var a, b int64
	if _, err := fmt.Sscan(string(body), &a, &b); err != nil {
		return from, to, fmt.Errorf("stall request: unexpected answer %q", body)
	}
	return time.Unix(0, a), time.Unix(0, b), nil
}
