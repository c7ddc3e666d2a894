package web

import (
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"
)

// Route is one method and pattern the router serves.
type Route struct {
	Method  string // GET, POST, …
	Pattern string // chi pattern, e.g. /api/v1/shares/{id}
}

// Routes lists every route of the router, sorted by pattern and method. The
// authorization tests compare it with their table, so that a route added
// without deciding who may call it fails the suite. Building the router needs
// no dependencies: handlers are only bound, never run.
func Routes() []Route {
	var routes []Route
	_ = chi.Walk(New(Deps{}).router, func(method, pattern string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routes = append(routes, Route{Method: method, Pattern: pattern})
		return nil
	})
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Pattern != routes[j].Pattern {
			return routes[i].Pattern < routes[j].Pattern
		}
		return routes[i].Method < routes[j].Method
	})
	return routes
}
