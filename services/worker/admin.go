package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/whatif-lab/whatif/services/internal/admin"
	"github.com/whatif-lab/whatif/services/internal/httpx"
	"github.com/whatif-lab/whatif/services/worker/knob"
)

func (w *worker) routes(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", w.health)
	if w.pipe.routes != nil {
		w.pipe.routes(w, mux)
	}
	guarded := http.NewServeMux()
	guarded.Handle("/admin/protections", w.rebuildAfter(admin.Protections(w.prot)))
	guarded.HandleFunc("GET /admin/settings", w.getSettings)
	guarded.HandleFunc("PUT /admin/settings", w.putSettings)
	guarded.HandleFunc("GET /admin/members", w.getMembers)
	guarded.HandleFunc("PUT /admin/members", w.putMembers)
	guarded.HandleFunc("POST /admin/reset", w.postReset)
	guarded.HandleFunc("GET /admin/stats", w.getStats)
	guarded.HandleFunc("GET /admin/consumed", w.getConsumed)
	if w.pipe.deadLetter != "" {
		guarded.HandleFunc("GET /admin/dead-letters", w.getDeadLetters)
		guarded.HandleFunc("POST /admin/dead-letters/replay", w.postReplay)
	}
	mux.Handle("/admin/", admin.Guard(token, guarded))
	return mux
}

// health answers 200 once the worker has its topic, schema and groups.
func (w *worker) health(rw http.ResponseWriter, r *http.Request) {
	httpx.JSON(rw, http.StatusOK, map[string]any{"ok": true, "groups": w.groupNames()})
}

// rebuildAfter restarts the groups after a successful PUT of the
// protections (split_groups changes which groups run); the answer is sent
// once they follow the switches.
func (w *worker) rebuildAfter(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut {
			next.ServeHTTP(rw, r)
			return
		}
		buf := &bufferedWriter{header: http.Header{}}
		next.ServeHTTP(buf, r)
		if buf.status == http.StatusOK {
			if err := w.rebuild(w.baseMembers()); err != nil {
				httpx.Error(rw, http.StatusServiceUnavailable, "protections applied, but the groups did not restart: "+err.Error())
				return
			}
		}
		for k, v := range buf.header {
			rw.Header()[k] = v
		}
		rw.WriteHeader(buf.status)
		_, _ = rw.Write(buf.body)
	})
}

// bufferedWriter holds a handler's answer until the caller decides.
type bufferedWriter struct {
	header http.Header
	status int
	body   []byte
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(s int)   { b.status = s }
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	b.body = append(b.body, p...)
	return len(p), nil
}

func (w *worker) getSettings(rw http.ResponseWriter, r *http.Request) {
	httpx.JSON(rw, http.StatusOK, w.settings.snapshot())
}

// putSettings takes a partial {"record_cost":"20ms",...} and returns every
// setting after the change.
func (w *worker) putSettings(rw http.ResponseWriter, r *http.Request) {
	var update map[string]string
	if err := httpx.Decode(rw, r, &update); err != nil {
		httpx.Error(rw, http.StatusBadRequest, err.Error()+`; want {"name":"duration",...}`)
		return
	}
	kv, err := knob.All.Parse(update)
	if err != nil {
		httpx.Error(rw, http.StatusBadRequest, err.Error())
		return
	}
	w.settings.apply(kv)
	httpx.JSON(rw, http.StatusOK, w.settings.snapshot())
}

// membersUpdate is PUT /admin/members: {"members":N} sets every group and
// the size groups start with; {"group":"analytics","members":N} one group.
type membersUpdate struct {
	Group   string `json:"group"`
	Members *int   `json:"members"`
}

func (w *worker) getMembers(rw http.ResponseWriter, r *http.Request) {
	httpx.JSON(rw, http.StatusOK, w.membersSnapshot())
}

func (w *worker) membersSnapshot() map[string]any {
	sizes := map[string]int{}
	for _, n := range w.groupNames() {
		if g, ok := w.group(n); ok {
			sizes[n] = g.size()
		}
	}
	return map[string]any{"start": w.baseMembers(), "groups": sizes}
}

func (w *worker) putMembers(rw http.ResponseWriter, r *http.Request) {
	var u membersUpdate
	if err := httpx.Decode(rw, r, &u); err != nil {
		httpx.Error(rw, http.StatusBadRequest, err.Error()+`; want {"members":N} or {"group":"name","members":N}`)
		return
	}
	if u.Members == nil {
		httpx.Error(rw, http.StatusBadRequest, `"members" is required; want {"members":N} or {"group":"name","members":N}`)
		return
	}
	n := *u.Members
	if n < 0 || n > maxPartitions {
		httpx.Error(rw, http.StatusBadRequest, fmt.Sprintf("members %d: want 0..%d", n, maxPartitions))
		return
	}
	targets := w.groupNames()
	if u.Group != "" {
		if _, ok := w.group(u.Group); !ok {
			httpx.Error(rw, http.StatusBadRequest, fmt.Sprintf("unknown group %q; running groups: %v", u.Group, targets))
			return
		}
		targets = []string{u.Group}
	} else {
		w.setBaseMembers(n)
	}
	for _, name := range targets {
		g, ok := w.group(name)
		if !ok {
			continue
		}
		if err := g.resize(n); err != nil {
			httpx.Error(rw, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	httpx.JSON(rw, http.StatusOK, w.membersSnapshot())
}

// resetTimeout bounds emptying the topic and restarting the groups.
const resetTimeout = 30 * time.Second

func (w *worker) postReset(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), resetTimeout)
	defer cancel()
	if err := w.reset(ctx, w.baseMembers()); err != nil {
		httpx.Error(rw, http.StatusServiceUnavailable, "reset: "+err.Error())
		return
	}
	httpx.JSON(rw, http.StatusOK, map[string]any{"reset": true, "groups": w.groupNames()})
}

func (w *worker) getConsumed(rw http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("group")
	g, ok := w.group(name)
	if !ok {
		httpx.Error(rw, http.StatusBadRequest, fmt.Sprintf("group %q is not running; running groups: %v", name, w.groupNames()))
		return
	}
	httpx.JSON(rw, http.StatusOK, g.ledger.report(name))
}
