package local

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Patroni spends 1.5–2 s starting Python before it bootstraps, and its
// initdb then takes about as long again. So Start runs initdb itself, in
// parallel with Patroni's start-up, into RunDir/pgtemplate, and the
// bootstrap method of both nodes copies that directory. The copy waits on a
// flock that the runner holds until initdb has finished: no polling, and a
// crashed runner releases it.
//
// The template outlives the stack: it is kept beside the run dirs, keyed
// by the server binary, initdb's arguments and the user it belongs to, so
// only the first stack on a machine waits for initdb (~2 s here, on the
// path to a healthy leader). A half-made one never takes that name: initdb
// writes elsewhere and the result is renamed into place.

const templateSvc = "pgtemplate"

// templateCache is the kept template of the stacks whose run dirs share
// runDir's parent directory (the state root).
func templateCache(runDir string) string {
	return filepath.Join(filepath.Dir(runDir), ".pgtemplate-"+templateKey())
}

var templateKey = sync.OnceValue(func() string {
	h := fnv.New64a()
	fmt.Fprintln(h, strings.Join(initdbArgs(""), " "), os.Geteuid())
	if st, err := os.Stat(filepath.Join(pgBinDir, "postgres")); err == nil {
		fmt.Fprintln(h, st.Size(), st.ModTime().UnixNano())
	}
	return fmt.Sprintf("%016x", h.Sum64())
})

func templateDataDir(runDir string) string { return filepath.Join(templateCache(runDir), "data") }
func templateLock(runDir string) string    { return filepath.Join(runDir, templateSvc, "ready.lock") }

// bootstrapCommand is the Patroni custom bootstrap command of one node.
func bootstrapCommand(flock, cp, runDir, nodeDir string) string {
	return fmt.Sprintf("%s -s %s %s -a %s %s", flock, templateLock(runDir), cp, templateDataDir(runDir), filepath.Join(nodeDir, "data"))
}

// initdbArgs match what Patroni's own initdb would do with our config.
func initdbArgs(dataDir string) []string {
	return []string{
		"-D", dataDir,
		"--username=postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8",
		"--no-sync", // a throwaway cluster on loopback
	}
}

// startTemplate makes sure the kept template exists: when it does not,
// it locks the copies out, launches initdb and returns a func that waits
// for it, puts the result in place and releases the lock.
func (s *Stack) startTemplate() (func(context.Context) error, error) {
	dir := filepath.Join(s.cfg.RunDir, templateSvc)
	if err := mkServiceDir(dir, s.pg); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(templateLock(s.cfg.RunDir), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	cache := templateCache(s.cfg.RunDir)
	if _, err := os.Stat(filepath.Join(cache, "data", "PG_VERSION")); err == nil {
		lock.Close() // kept from an earlier stack: the copies need not wait
		return func(context.Context) error { return nil }, nil
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, err
	}
	removeHalfMadeTemplates(cache)
	tmp := fmt.Sprintf("%s.tmp-%d", cache, os.Getpid())
	if err := mkServiceDir(tmp, s.pg); err != nil {
		lock.Close()
		return nil, err
	}
	out, closeOut, err := s.logs.output(templateSvc)
	if err != nil {
		lock.Close()
		return nil, err
	}
	defer closeOut()
	spec := launchSpec{Svc: templateSvc, Path: filepath.Join(pgBinDir, "initdb"), Args: initdbArgs(filepath.Join(tmp, "data")), Dir: dir, AsPG: true}
	p, err := s.fork(spec, out)
	if err != nil {
		lock.Close()
		_ = os.RemoveAll(tmp)
		return nil, s.failure(templateSvc, err)
	}
	return func(ctx context.Context) error {
		defer lock.Close() // releases the flock: the copies may run
		select {
		case <-p.done:
			if p.err != nil {
				_ = os.RemoveAll(tmp)
				return s.failure(templateSvc, fmt.Errorf("initdb: %w", p.err))
			}
			// another stack may have put its own in place meanwhile: theirs stays
			if err := os.Rename(tmp, cache); err != nil {
				_ = os.RemoveAll(tmp)
				if _, serr := os.Stat(filepath.Join(cache, "data", "PG_VERSION")); serr != nil {
					return s.failure(templateSvc, fmt.Errorf("keeping the template: %w", err))
				}
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil
}

// removeHalfMadeTemplates runs under the template lock, when no one else
// builds: any cache.tmp-<pid> is a leftover of a runner that died
// mid-initdb.
func removeHalfMadeTemplates(cache string) {
	stale, _ := filepath.Glob(cache + ".tmp-*")
	for _, d := range stale {
		_ = os.RemoveAll(d)
	}
}
