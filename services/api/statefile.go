package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/whatif-lab/whatif/services/api/knob"
)

// With --state-file the API keeps its runtime switches (protections and
// settings) across restarts, as a deployment's config would: an instance
// that the OOM killer took and its supervisor restarted comes back with the
// protections it had, not with the flags' defaults.

type savedState struct {
	Protections map[string]bool   `json:"protections"`
	Settings    map[string]string `json:"settings"`
}

// loadState applies a saved state; a missing file is a first start.
func (a *app) loadState(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	if err := a.prot.Apply(st.Protections); err != nil {
		return fmt.Errorf("state file %s: %w", path, err)
	}
	if len(st.Settings) > 0 {
		kv, err := knob.Parse(st.Settings)
		if err != nil {
			return fmt.Errorf("state file %s: %w", path, err)
		}
		a.applySettings(kv)
	}
	return nil
}

// saveState writes the live switches atomically (rename), so a kill in the
// middle never leaves half a file.
func (a *app) saveState(path string) error {
	b, err := json.Marshal(savedState{Protections: a.prot.Snapshot(), Settings: a.settings.snapshot()})
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// persisting saves the state after every successful change through h.
// Without a state file it is h itself.
func (a *app) persisting(h http.Handler) http.Handler {
	if a.stateFile == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(sw, r)
		if r.Method == http.MethodGet || sw.code >= 300 {
			return
		}
		if err := a.saveState(a.stateFile); err != nil {
			log.Printf("state not saved: %v", err)
		}
	})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}
