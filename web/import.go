package web

import (
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// MaxImportUpload bounds an import upload (both files and the form around them).
// The real organisation in internal/demo is about 0.35 MiB; larger imports go
// through `server import`.
const MaxImportUpload = 20 << 20

// importFileLabels name the two files for people reading the bad rows.
var importFileLabels = map[string]string{
	community.ImportFileNodes: "people file",
	community.ImportFileEdges: "ties file",
}

// importCounts are the report's query parameters after the redirect, in order.
var importCounts = []string{"people", "communities", "memberships", "ties", "self_loops", "merged", "already", "connections"}

func (s *Server) mountImport(r chi.Router) {
	r.With(s.requireNode, s.requireSteward).Get("/import", s.importPage)
	r.With(s.requireNode, s.requireSteward).Post("/import", s.importSubmit)
}

func (s *Server) importView() components.ImportView {
	return components.ImportView{Page: s.page("Import", "import"), MaxMiB: MaxImportUpload >> 20}
}

// importPage shows the form and, after a successful import, its report: the
// counts travel in the redirect's query so the page works without a session.
func (s *Server) importPage(w http.ResponseWriter, r *http.Request) {
	v := s.importView()
	q := r.URL.Query()
	if q.Get("done") == "1" {
		n := make([]int, len(importCounts))
		for i, k := range importCounts {
			n[i], _ = strconv.Atoi(q.Get(k))
		}
		v.Done = &components.ImportSummary{
			People: n[0], Communities: n[1], Memberships: n[2], TiesRead: n[3], SelfLoops: n[4],
			Merged: n[5], AlreadyConnected: n[6], Connections: n[7], Seconds: q.Get("seconds"),
		}
	}
	s.render(w, r, http.StatusOK, components.ImportPage(v))
}

// importSubmit runs an uploaded import. Success redirects (POST, redirect, GET);
// bad rows are answered 422 with the form and every listed row.
func (s *Server) importSubmit(w http.ResponseWriter, r *http.Request) {
	v := s.importView()
	r.Body = http.MaxBytesReader(w, r.Body, MaxImportUpload)
	// The whole body fits in memory by the limit above, so no temporary files.
	if err := r.ParseMultipartForm(MaxImportUpload); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			v.Error = fmt.Sprintf("The files are larger than %d MiB together. Split them, or run server import on a server.", MaxImportUpload>>20)
			s.render(w, r, http.StatusRequestEntityTooLarge, components.ImportPage(v))
			return
		}
		v.Error = "The upload could not be read. Choose the files again and send the form."
		s.render(w, r, http.StatusBadRequest, components.ImportPage(v))
		return
	}
	defer r.MultipartForm.RemoveAll()

	nodes, ok := uploadedFile(r, "nodes")
	if !ok {
		v.Errors = components.FieldErrors{"nodes": "Choose the people file (CSV)."}
		s.render(w, r, http.StatusUnprocessableEntity, components.ImportPage(v))
		return
	}
	defer nodes.Close()
	in := community.ImportInput{Nodes: nodes}
	if edges, ok := uploadedFile(r, "edges"); ok {
		defer edges.Close()
		in.Edges = edges
	}

	rep, err := s.d.Store.Import(r.Context(), in)
	var bad *community.ImportErrors
	var ve *community.ValidationError
	switch {
	case errors.As(err, &bad):
		v.Total = bad.Total
		for _, row := range bad.Rows {
			v.Problems = append(v.Problems, components.ImportProblem{
				File: importFileLabels[row.File], Line: row.Line, Field: row.Field, Reason: row.Reason,
			})
		}
		s.render(w, r, http.StatusUnprocessableEntity, components.ImportPage(v))
		return
	case errors.As(err, &ve):
		v.Errors = components.FieldErrors{"nodes": ve.Message}
		s.render(w, r, http.StatusUnprocessableEntity, components.ImportPage(v))
		return
	case errors.Is(err, community.ErrConflict):
		v.Error = err.Error() // written for people: someone signed up meanwhile
		s.render(w, r, http.StatusConflict, components.ImportPage(v))
		return
	case errors.Is(err, context.DeadlineExceeded):
		v.Error = fmt.Sprintf("The import took longer than %v and was stopped; nothing was imported. Run server import on a server for files this large.", RequestTimeout)
		s.render(w, r, http.StatusServiceUnavailable, components.ImportPage(v))
		return
	case err != nil:
		s.failErr(w, r, err)
		return
	}
	s.d.Logger.Info("import done", "people", rep.People, "connections", rep.Connections,
		"elapsed_ms", rep.Elapsed.Milliseconds())
	s.record(r, audit.ActionImport, map[string]any{"via": "upload", "people": rep.People, "communities": rep.Communities,
		"memberships": rep.Memberships, "ties": rep.TiesRead, "connections": rep.Connections})
	q := url.Values{"done": {"1"}, "seconds": {strconv.FormatFloat(rep.Elapsed.Seconds(), 'f', 2, 64)}}
	for i, n := range []int{rep.People, rep.Communities, rep.Memberships, rep.TiesRead, rep.SelfLoops,
		rep.Merged, rep.AlreadyConnected, rep.Connections} {
		q.Set(importCounts[i], strconv.Itoa(n))
	}
	http.Redirect(w, r, "/import?"+q.Encode(), http.StatusSeeOther)
}

// uploadedFile is the named file of a parsed multipart form. A browser sends an
// empty part without a file name for a file input left empty: that is no file.
func uploadedFile(r *http.Request, name string) (multipart.File, bool) {
	f, h, err := r.FormFile(name)
	if err != nil {
		return nil, false
	}
	if h.Filename == "" && h.Size == 0 {
		f.Close()
		return nil, false
	}
	return f, true
}
