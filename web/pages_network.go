package web

import "github.com/go-chi/chi/v5"

// mountNetworkPages registers the pages of the network (dashboard, people,
// communities, search).
func (s *Server) mountNetworkPages(r chi.Router) {}
