package web

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5/middleware"
)

// logRequests writes one structured line per request. Probes are logged at debug
// so that load balancers polling them do not drown the log.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		level := s.d.Logger.Info
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || strings.HasPrefix(r.URL.Path, "/static/") {
			level = s.d.Logger.Debug
		}
		status := ww.Status()
		if status == 0 {
			status = http.StatusOK
		}
		level("http request",
			"method", r.Method, "path", r.URL.Path, "status", status, "bytes", ww.BytesWritten(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"request_id", middleware.GetReqID(r.Context()))
	})
}

// recoverPanics turns a panic into a logged 500 with a generic page; the stack
// goes to the log, never to the client.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec) // the server's own way to abort a response
			}
			s.d.Logger.Error("panic in handler", "panic", fmt.Sprint(rec), "path", r.URL.Path,
				"request_id", middleware.GetReqID(r.Context()), "stack", string(debug.Stack()))
			s.fail(w, r, http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment.")
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets a strict CSP with a fresh nonce per response (templ puts it
// on the script tags it renders), and the usual hardening headers.
//
// The CSP is exactly the one the README promises. default-src 'self' already
// covers what the pages load besides scripts (the stylesheet, icons, the live
// streams' connections), and no page has an inline style, a style attribute or
// a data: image (htmx is told not to inject its indicator styles), so no
// style-src, img-src or connect-src is needed (cmd/server/headers_test.go
// checks every page against it).
//
// Every answer is Cache-Control: no-store unless its handler says otherwise.
//
// HSTS is sent only on a connection that is itself TLS: over plain HTTP a
// browser ignores it, and where a proxy terminates TLS the proxy sets it.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nonce := newNonce()
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-"+nonce+"'; object-src 'none'; "+
			"base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		// No cache, shared or the browser's, keeps a dynamic answer (ASVS
		// 14.2.2, 14.3.2): nearly every page shows someone's network, feedback
		// or kudos, and the back button must not show them after signing out.
		// A handler may override it; /static sets its own long cache.
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
	})
}

// clearSite tells the browser, on signing out, to drop what it kept of this
// site: cached pages, cookies and any storage (ASVS 14.3.1).
func clearSite(w http.ResponseWriter) {
	w.Header().Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawStdEncoding.EncodeToString(b)
}
