package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Patroni spends 1.5–2 s starting Python before it bootstraps, and its
// initdb then takes about as long again. So Start runs initdb itself, in
// parallel with Patroni's start-up, into RunDir/pgtemplate, and the
// bootstrap method of both nodes copies that directory. The copy waits on a
// flock that the runner holds until initdb has finished: no polling, and a
// crashed runner releases it.

const templateSvc = "pgtemplate"

func templateDataDir(runDir string) string { return filepath.Join(runDir, templateSvc, "data") }
func templateLock(runDir string) string    { return filepath.Join(runDir, templateSvc, "ready.lock") }

// bootstrapCommand is the Patroni custom bootstrap command of one node.
func bootstrapCommand(flock, cp, runDir, nodeDir string) string {
	return fmt.Sprintf("%s -s %s %s -a %s %s", flock, templateLock(runDir), cp, templateDataDir(runDir), filepath.Join(nodeDir, "data"))
}

// initdbArgs match what Patroni's own initdb would do with our config.
func initdbArgs(runDir string) []string {
	return []string{
		"-D", templateDataDir(runDir),
		"--username=postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8",
		"--no-sync", // a throwaway cluster on loopback
	}
}

// startTemplate locks the template, launches initdb and returns a func
// that waits for it and releases the lock.
func (s *Stack) startTemplate() (func(context.Context) error, error) {
	dir := filepath.Join(s.cfg.RunDir, templateSvc)
	if err := mkServiceDir(dir, s.pg); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(templateLock(s.cfg.RunDir), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, err
	}
	out, closeOut, err := s.logs.output(templateSvc)
	if err != nil {
		lock.Close()
		return nil, err
	}
	defer closeOut()
	spec := launchSpec{Svc: templateSvc, Path: filepath.Join(pgBinDir, "initdb"), Args: initdbArgs(s.cfg.RunDir), Dir: dir, AsPG: true}
	p, err := s.fork(spec, out)
	if err != nil {
		lock.Close()
		return nil, s.failure(templateSvc, err)
	}
	return func(ctx context.Context) error {
		defer lock.Close() // releases the flock: the copies may run
		select {
		case <-p.done:
			if p.err != nil {
				return s.failure(templateSvc, fmt.Errorf("initdb: %w", p.err))
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}
