package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

type nodeKey struct{}

// withNode records the signed-in node for the rest of the request.
func withNode(ctx context.Context, n community.Node) context.Context {
	return context.WithValue(ctx, nodeKey{}, n)
}

// currentNode is the signed-in node, if any.
func currentNode(r *http.Request) (community.Node, bool) { return nodeFrom(r.Context()) }

// requireNode lets only signed-in, active nodes through: API clients get a JSON
// 401, browsers are sent to the sign-in page and brought back after. Both are
// authorization denials and written to the audit log (the 401 by auditDenials,
// the redirect here, since it is no 401 to the eye of the middleware).
func (s *Server) requireNode(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, ok := currentNode(r); ok && n.Active {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			s.fail(w, r, http.StatusUnauthorized, "Sign in first: send a session cookie or an Authorization: Bearer token.")
			return
		}
		s.recordDenial(r, http.StatusSeeOther, "sign_in_required")
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
}

// requireSteward lets only stewards through (after requireNode); the 403 is
// written to the audit log by auditDenials.
func (s *Server) requireSteward(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n, ok := currentNode(r); ok && n.Steward {
			next.ServeHTTP(w, r)
			return
		}
		s.fail(w, r, http.StatusForbidden, "Only stewards can do this.")
	})
}
