package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/nodecommunity/nodecommunity/internal/metrics"
)

// metricsPath is where the instance's Prometheus metrics are served.
const metricsPath = "/metrics"

// serveMetrics is GET /metrics: the process's Prometheus registry. It needs no
// sign-in because it holds no personal data: only process figures (CPU, memory,
// goroutines) and counts and timings labelled by route pattern, method and
// status class — never a path with an id, a handle, a token or any content.
func serveMetrics() http.Handler { return metrics.Handler() }

// observeRequests records every ordinary request in metrics.Requests by its chi
// route pattern ("/api/v1/shares/{id}"), never the raw path, so that ids do not
// become label values and the series stay few. Event streams are left out (their
// "duration" is how long someone kept a page open, which would drown the
// figures of answered requests), and so is /metrics, so that scraping does not
// observe itself.
func observeRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == metricsPath || streamPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		metrics.Requests.WithLabelValues(routePattern(r), methodLabel(r.Method), statusClass(status)).
			Observe(time.Since(start).Seconds())
	})
}

// routePattern is the pattern chi matched, or "unmatched" for a 404 outside
// every route (the raw path could be anything a client makes up).
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		if p := rc.RoutePattern(); p != "" {
			return p
		}
	}
	return "unmatched"
}

// methodLabel keeps the standard methods and folds anything else a client
// invents into "other", for the same reason as routePattern.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusClass is "2xx", "4xx", ... for a status code.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// streamPath is a route that answers with an event stream when it succeeds;
// its refusals (400, 401) are left out with its streams, so the series of
// answered requests holds no stream route at all.
func streamPath(p string) bool {
	return p == "/api/v1/events" || strings.HasSuffix(p, "/live") // /live, /cluster/live, /threads/{id}/live, ...
}
