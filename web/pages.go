package web

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/a-h/templ"

	"github.com/nodecommunity/nodecommunity/web/components"
)

func (s *Server) page(title, nav string) components.Page {
	return components.Page{Title: title, Nav: nav, Instance: s.d.Instance}
}

// render writes a full page: rendered into a buffer first, so that it leaves
// in one write with a Content-Length rather than in dozens of 2–4 KB chunks,
// each a system call that wakes the reader (a dashboard of 50 shares is
// about 30 of them); and so that a page that fails to render is an error
// page, not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	b := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= maxPooledPage {
			b.Reset()
			pageBuffers.Put(b)
		}
	}()
	if err := c.Render(r.Context(), b); err != nil {
		s.d.Logger.Error("render page", "path", r.URL.Path, "err", err)
		if status < http.StatusInternalServerError {
			s.fail(w, r, http.StatusInternalServerError, "This page could not be shown. Try again, or start from the network page.")
			return
		}
		// The error page itself failed: plain text rather than an empty 200.
		http.Error(w, "This page could not be shown. Try again later.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(status)
	if _, err := w.Write(b.Bytes()); err != nil {
		s.d.Logger.Debug("write page", "path", r.URL.Path, "err", err)
	}
}

// pageBuffers keeps render's buffers; one grown past maxPooledPage (an
// unusually long page) is left to the collector rather than kept.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledPage = 1 << 20

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
