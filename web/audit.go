package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// The audit log (internal/audit) is written from here for what the web layer
// sees: refused requests (auditDenials), sign-outs, and whatever a handler
// records with s.record. Sign-ins, capability changes and deactivations are
// written by the store in the transaction of the change itself.

// mountAudit registers the audit log page and its JSON API, for stewards and
// people analysts.
func (s *Server) mountAudit(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode, s.requireAuditReader)
		r.Get("/audit", s.auditPage)
		r.Get("/api/v1/audit", s.apiAudit)
	})
}

// requireAuditReader lets stewards and people analysts through. The log names
// people and addresses, so no cache may keep it.
func (s *Server) requireAuditReader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := me(r); !n.Steward && !n.PeopleAnalyst {
			s.fail(w, r, http.StatusForbidden, "Only stewards and people analysts can read the audit log.")
			return
		}
		if s.d.Audit == nil {
			s.fail(w, r, http.StatusServiceUnavailable, "The audit log is not available on this instance.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// auditWriteTimeout bounds an audit write made after the answer was decided,
// when the request's own context may be ending.
const auditWriteTimeout = 2 * time.Second

// record writes an audit row for the signed-in node (or nobody) with the
// request's address. A failure is logged, not answered: the act it records has
// happened already. Reads of named data, which must not happen unrecorded, use
// their own check instead (web/graph.go audit).
func (s *Server) record(r *http.Request, action string, detail any) {
	if s.d.Audit == nil {
		return
	}
	n, _ := currentNode(r)
	s.writeAudit(r.Context(), audit.Record{Actor: n.ID, Action: action, Detail: detail})
}

// writeAudit appends rec, logging a failure.
func (s *Server) writeAudit(ctx context.Context, rec audit.Record) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditWriteTimeout)
	defer cancel()
	if err := s.d.Audit.Add(ctx, rec); err != nil {
		s.d.Logger.Error("audit", "action", rec.Action, "err", err)
	}
}

// recordDenial writes an authorization denial: who (if anyone) was refused
// what, and why when the refusing code knows. A signed-in node's denials are
// all written: they name someone who answers for them. Anonymous ones are
// capped per address (recordRefusal).
func (s *Server) recordDenial(r *http.Request, status int, reason string) {
	detail := map[string]any{"method": r.Method, "path": r.URL.Path, "status": status}
	if reason != "" {
		detail["reason"] = reason
	}
	if _, ok := currentNode(r); ok {
		s.record(r, audit.ActionDenied, detail)
		return
	}
	s.recordRefusal(r, audit.ActionDenied, detail)
}

// recordRateLimited writes a 429 of the named limit (ASVS 16.3.3), capped per
// address like every refusal: a client past a limit keeps trying.
func (s *Server) recordRateLimited(r *http.Request, limit string) {
	s.recordRefusal(r, audit.ActionRateLimited, map[string]any{"limit": limit, "method": r.Method, "path": r.URL.Path, "status": http.StatusTooManyRequests})
}

// crossOriginRefused answers a request http.CrossOriginProtection refused:
// a 403 in the site's own format (so with every security header), written to
// the audit log as a denial.
func (s *Server) crossOriginRefused(w http.ResponseWriter, r *http.Request) {
	s.recordRefusal(r, audit.ActionDenied, map[string]any{"method": r.Method, "path": r.URL.Path, "status": http.StatusForbidden, "reason": "cross_origin"})
	s.fail(w, r, http.StatusForbidden, "Refused: cross-origin request detected. Changes can only be made from this site's own pages.")
}

// Refusals (anonymous denials, cross-origin refusals, 429s) cost their sender
// nothing and each would be a row: left alone, anyone could flood the audit
// log and the database under it. At most auditRefusalsPerMinute rows a minute
// are written per client address and instance; the rest of that minute's
// refusals become one audit_suppressed row with their count, written at the
// first refusal (from anyone) after the minute ends, or when the instance
// drains. Counts of a minute still open when an instance dies are lost.
const (
	auditRefusalsPerMinute = 60
	auditRefusalWindow     = time.Minute
	// auditCapAddresses bounds the memory of the cap; past it, new addresses
	// share one count under the address "*".
	auditCapAddresses = 10_000
)

// refusalCap counts refusals per address and window.
type refusalCap struct {
	mu        sync.Mutex
	now       func() time.Time // time.Now; tests move it
	limit     int
	per       map[string]*refusalWindow
	lastSweep time.Time
}

type refusalWindow struct {
	start      time.Time
	n          int // refusals in the window, written or not
	suppressed int // refusals not written
}

// suppressedRun is an ended window with refusals that were not written.
type suppressedRun struct {
	address string
	start   time.Time
	count   int
}

func newRefusalCap() *refusalCap {
	return &refusalCap{now: time.Now, limit: auditRefusalsPerMinute, per: map[string]*refusalWindow{}}
}

// take counts one refusal from address and reports whether its row is
// written, with the suppressed counts of windows that have ended meanwhile.
func (c *refusalCap) take(address string) (write bool, ended []suppressedRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if now.Sub(c.lastSweep) >= time.Second {
		c.lastSweep = now
		ended = c.sweep(now, false)
	}
	w := c.per[address]
	if w != nil && now.Sub(w.start) >= auditRefusalWindow {
		if w.suppressed > 0 {
			ended = append(ended, suppressedRun{address, w.start, w.suppressed})
		}
		w = nil
	}
	if w == nil {
		if _, ok := c.per[address]; !ok && len(c.per) >= auditCapAddresses {
			address = "*"
			w = c.per[address]
		}
		if w == nil {
			w = &refusalWindow{start: now}
			c.per[address] = w
		}
	}
	w.n++
	if w.n <= c.limit {
		return true, ended
	}
	w.suppressed++
	return false, ended
}

// sweep removes ended windows (every window when all), returning those with
// suppressed refusals. The caller holds mu.
func (c *refusalCap) sweep(now time.Time, all bool) []suppressedRun {
	var ended []suppressedRun
	for a, w := range c.per {
		if all || now.Sub(w.start) >= auditRefusalWindow {
			if w.suppressed > 0 {
				ended = append(ended, suppressedRun{a, w.start, w.suppressed})
			}
			delete(c.per, a)
		}
	}
	return ended
}

// recordRefusal writes a refusal unless its address is past the cap, and the
// counts of suppressed refusals whose minute has ended.
func (s *Server) recordRefusal(r *http.Request, action string, detail any) {
	if s.d.Audit == nil {
		return
	}
	address := clientAddress(r)
	write, ended := s.refusals.take(address)
	s.writeSuppressed(r.Context(), ended)
	if write {
		n, _ := currentNode(r)
		s.writeAudit(r.Context(), audit.Record{Actor: n.ID, Action: action, Address: address, Detail: detail})
	}
}

func (s *Server) writeSuppressed(ctx context.Context, runs []suppressedRun) {
	for _, e := range runs {
		s.writeAudit(ctx, audit.Record{Action: audit.ActionSuppressed, Address: e.address, Detail: map[string]any{
			"count": e.count, "from": e.start.UTC(), "to": e.start.Add(auditRefusalWindow).UTC(),
		}})
	}
}

// flushRefusals writes every suppressed count now (when the instance drains).
func (s *Server) flushRefusals() {
	if s.d.Audit == nil {
		return
	}
	s.refusals.mu.Lock()
	runs := s.refusals.sweep(s.refusals.now(), true)
	s.refusals.mu.Unlock()
	s.writeSuppressed(context.Background(), runs)
}

// signinPath is a password sign-in: its 401 is a wrong password, which
// SignIn records as signin_failed already.
func signinPath(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/signin" || r.URL.Path == "/api/v1/login")
}

// auditDenials records every answer of 401 or 403 — requireNode,
// requireSteward, the analysts' and readers' checks, and every object-level
// refusal a handler makes (failErr on ErrForbidden) — in one place, so that a
// new route cannot forget to.
func (s *Server) auditDenials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		if st := ww.Status(); (st == http.StatusUnauthorized || st == http.StatusForbidden) && !signinPath(r) {
			s.recordDenial(r, st, "")
		}
	})
}

// auditActionRe is a well-formed action name for the filter.
var auditActionRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// parseAuditQuery reads ?action=&before=&limit= of /audit and /api/v1/audit.
// It is pure, for the fuzz tests; a bad value is a ValidationError naming it.
func parseAuditQuery(q url.Values) (audit.Filter, error) {
	var f audit.Filter
	if a := q.Get("action"); a != "" {
		if !auditActionRe.MatchString(a) {
			return f, &community.ValidationError{Field: "action", Message: "Use an action name: lower-case letters, digits and '_'."}
		}
		f.Action = a
	}
	if b := q.Get("before"); b != "" {
		v, err := strconv.ParseInt(b, 10, 64)
		if err != nil || v < 1 {
			return f, &community.ValidationError{Field: "before", Message: "before must be an entry id (a positive whole number)."}
		}
		f.Before = v
	}
	if l := q.Get("limit"); l != "" {
		v, err := strconv.Atoi(l)
		if err != nil || v < 1 || v > audit.MaxLimit {
			return f, &community.ValidationError{Field: "limit", Message: "limit must be between 1 and " + strconv.Itoa(audit.MaxLimit) + "."}
		}
		f.Limit = v
	}
	return f, nil
}

// readAudit lists a page of the log and records that it was read. On failure
// it has answered.
func (s *Server) readAudit(w http.ResponseWriter, r *http.Request) (audit.Filter, audit.Page, bool) {
	f, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		s.failErr(w, r, err)
		return f, audit.Page{}, false
	}
	// Who read the log is itself recorded, before the reading.
	if err := s.d.Audit.Add(r.Context(), audit.Record{Actor: me(r).ID, Action: audit.ActionReadLog,
		Detail: map[string]any{"action": f.Action, "before": f.Before}}); err != nil {
		s.failErr(w, r, err)
		return f, audit.Page{}, false
	}
	p, err := s.d.Audit.List(r.Context(), f)
	if err != nil {
		s.failErr(w, r, err)
		return f, audit.Page{}, false
	}
	return f, p, true
}

// apiAudit is GET /api/v1/audit?action=&before=&limit=: entries newest first,
// and next_before, the cursor of the next page, while there is one.
func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	_, p, ok := s.readAudit(w, r)
	if !ok {
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

// auditPage is /audit: the log as a table, filtered by action, a page at a time.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) {
	f, err := parseAuditQuery(r.URL.Query())
	var ve *community.ValidationError
	if errors.As(err, &ve) {
		// A bad filter shows the first page with the problem named.
		s.renderAudit(w, r, http.StatusUnprocessableEntity, audit.Filter{}, audit.Page{}, ve.Field+": "+ve.Message)
		return
	}
	f, p, ok := s.readAudit(w, r)
	if !ok {
		return
	}
	s.renderAudit(w, r, http.StatusOK, f, p, "")
}

func (s *Server) renderAudit(w http.ResponseWriter, r *http.Request, status int, f audit.Filter, p audit.Page, problem string) {
	actions, err := s.d.Audit.Actions(r.Context())
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.AuditView{
		Page: s.page("Audit log", "audit"), Action: f.Action, Actions: actions, Paged: f.Before != 0,
		Error: problem,
	}
	for _, e := range p.Entries {
		v.Entries = append(v.Entries, components.AuditRow{
			ID: e.ID, At: e.At, Actor: e.Actor, Action: e.Action, Address: e.Address, Detail: string(e.Detail),
		})
	}
	q := url.Values{}
	if f.Action != "" {
		q.Set("action", f.Action)
	}
	v.FirstURL = "/audit"
	if len(q) > 0 {
		v.FirstURL += "?" + q.Encode()
	}
	if p.NextBefore != 0 {
		q.Set("before", strconv.FormatInt(p.NextBefore, 10))
		v.NextURL = "/audit?" + q.Encode()
	}
	s.render(w, r, status, components.AuditPage(v))
}
