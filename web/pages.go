package web

import (
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/nodecommunity/nodecommunity/web/components"
)

func (s *Server) page(title, nav string) components.Page {
	return components.Page{Title: title, Nav: nav, Instance: s.d.Instance}
}

// render writes a full page; a rendering error is logged once here.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil {
		s.d.Logger.Error("render page", "path", r.URL.Path, "err", err)
	}
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if n, ok := currentNode(r); ok && n.Active {
		s.dashboard(w, r)
		return
	}
	o, err := s.d.Store.Overview(r.Context(), 6)
	if err != nil {
		s.d.Logger.Error("home overview", "err", err)
		s.fail(w, r, http.StatusServiceUnavailable, "The network's data cannot be read right now. Try again in a moment.")
		return
	}
	v := components.HomeView{
		Page:        s.page("Network", "home"),
		People:      o.People,
		Communities: o.Communities,
		Connections: o.Connections,
		Instances:   len(s.d.Members.Members()),
	}
	for _, c := range o.Largest {
		v.Largest = append(v.Largest, components.CommunityCard{Slug: c.Slug, Name: c.Name, Purpose: c.Purpose, Members: c.Members})
	}
	for _, p := range o.Connected {
		v.Connected = append(v.Connected, components.PersonCard{Handle: p.Handle, DisplayName: p.DisplayName, Skills: p.Skills, Connections: p.Connections})
	}
	s.render(w, r, http.StatusOK, components.Home(v))
}

func (s *Server) clusterView() components.ClusterView {
	v := components.ClusterView{Page: s.page("Cluster", "cluster"), Now: time.Now()}
	for _, m := range s.d.Members.Members() {
		v.Members = append(v.Members, components.Member{
			Name: m.Name, HTTPAddr: m.HTTPAddr, StartedAt: m.StartedAt, LastSeen: m.LastSeen,
			Clients: m.Clients, Self: m.Name == s.d.Instance,
		})
	}
	return v
}

func (s *Server) cluster(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, components.Cluster(s.clusterView()))
}
