package local

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// logSink gives every child an output file in RunDir/logs and, when the
// caller asked for it, copies each line to Config.Logs prefixed with the
// service name.
type logSink struct {
	dir  string
	copy io.Writer // Config.Logs; nil = files only

	mu sync.Mutex // serialises lines written to copy
	wg sync.WaitGroup
}

func (l *logSink) path(svc string) string { return filepath.Join(l.dir, svc+".log") }

func (l *logSink) openFile(svc string) (*os.File, error) {
	return os.OpenFile(l.path(svc), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}

// output returns the file a child writes to, and a func to call once the
// child started (it closes the runner's copy of the descriptor). Children
// get a real file or pipe, never an exec-managed pipe: cmd.Wait must not
// wait for grandchildren (the postmaster) that inherited the descriptor.
func (l *logSink) output(svc string) (*os.File, func(), error) {
	f, err := l.openFile(svc)
	if err != nil {
		return nil, nil, err
	}
	if l.copy == nil {
		return f, func() { f.Close() }, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer r.Close()
		defer f.Close()
		l.copyLines(svc, r, f)
	}()
	return w, func() { w.Close() }, nil
}

// writer is an in-process log (toxiproxy) with the same destinations.
func (l *logSink) writer(svc string) (io.WriteCloser, error) {
	f, err := l.openFile(svc)
	if err != nil {
		return nil, err
	}
	if l.copy == nil {
		return f, nil
	}
	r, w := io.Pipe()
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer f.Close()
		l.copyLines(svc, r, f)
	}()
	return w, nil
}

func (l *logSink) copyLines(svc string, r io.Reader, f *os.File) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = fmt.Fprintf(f, "%s\n", line)
		l.mu.Lock()
		_, _ = fmt.Fprintf(l.copy, "%-9s | %s\n", svc, line)
		l.mu.Unlock()
	}
	// Drain whatever a too-long line left, so writers never block.
	_, _ = io.Copy(f, r)
}
