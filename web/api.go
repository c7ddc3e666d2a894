package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// writeJSON writes v with the status; encoding errors are logged once.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.d.Logger.Debug("write json", "err", err)
	}
}

// apiError is the one error shape of the JSON API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

var errorCodes = map[int]string{
	http.StatusBadRequest: "bad_request", http.StatusUnauthorized: "unauthorized", http.StatusForbidden: "forbidden", http.StatusNotFound: "not_found",
	http.StatusMethodNotAllowed: "method_not_allowed", http.StatusConflict: "conflict",
	http.StatusRequestEntityTooLarge: "too_large", http.StatusUnprocessableEntity: "invalid",
	http.StatusInternalServerError: "internal", http.StatusServiceUnavailable: "unavailable",
}

// fail answers with an error: JSON for the API, a page for browsers. The message
// is for people and must never carry an internal error's text.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	s.failField(w, r, status, "", message)
}

// failField is fail naming the input field at fault (JSON "field").
func (s *Server) failField(w http.ResponseWriter, r *http.Request, status int, field, message string) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		var e apiError
		e.Error.Code, e.Error.Message, e.Error.Field = errorCodes[status], message, field
		s.writeJSON(w, status, e)
		return
	}
	heading := http.StatusText(status)
	s.render(w, r, status, components.ErrorPage(components.ErrorView{
		Page: s.page(heading, ""), Status: status, Heading: heading, Message: message,
	}))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusNotFound, "There is nothing at "+r.URL.Path+". Check the address, or start from the network page.")
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+".")
}

func (s *Server) apiCluster(w http.ResponseWriter, r *http.Request) {
	members := s.d.Members.Members()
	if members == nil {
		members = []bus.Member{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"instances": members})
}

// healthz says the process is alive; it checks nothing else on purpose.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether this instance should get traffic: not while draining, and
// only when every dependency answers within a short deadline.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Retry-After", "1")
		s.writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		checks = map[string]string{}
		ok     = true
	)
	for name, check := range s.d.Checks {
		wg.Go(func() {
			err := check(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				ok = false
				checks[name] = "unavailable"
				s.d.Logger.Debug("readiness check failed", "check", name, "err", err)
				return
			}
			checks[name] = "ok"
		})
	}
	wg.Wait()
	if !ok {
		s.writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": checks})
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "checks": checks})
}
