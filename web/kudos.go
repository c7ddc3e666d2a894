package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// mountKudos registers kudos: the JSON API and the profile's "give kudos" form.
func (s *Server) mountKudos(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Post("/api/v1/kudos", s.apiGiveKudos)
		r.Get("/api/v1/kudos", s.apiListKudos)
		r.Post("/people/{handle}/kudos", s.kudosForm)
	})
}

func (s *Server) apiGiveKudos(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ToHandle string   `json:"to_handle"`
		Message  string   `json:"message"`
		Values   []string `json:"values"`
		Public   *bool    `json:"public"` // default true
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	in := feedback.KudosInput{ToHandle: req.ToHandle, Message: req.Message, Values: req.Values, Public: req.Public == nil || *req.Public}
	k, err := s.d.Feedback.GiveKudos(r.Context(), me(r).ID, in)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, k)
}

// apiListKudos is GET /api/v1/kudos?to=handle|from=handle[&before&limit]:
// public kudos, plus private ones addressed to the caller.
func (s *Server) apiListKudos(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("to") == "" && q.Get("from") == "" {
		s.failField(w, r, http.StatusUnprocessableEntity, "to", "Say whose kudos to list: ?to=handle or ?from=handle.")
		return
	}
	before, ok := s.queryInt(w, r, "before", 0, 0)
	if !ok {
		return
	}
	limit, ok := s.queryInt(w, r, "limit", 20, 100)
	if !ok {
		return
	}
	if limit == 0 {
		limit = 20
	}
	f := feedback.KudosFilter{Before: before, Limit: int(limit)}
	for _, p := range []struct {
		param string
		id    *int64
	}{{"to", &f.To}, {"from", &f.From}} {
		h := q.Get(p.param)
		if h == "" {
			continue
		}
		n, err := s.d.Store.FindNodeByHandle(r.Context(), strings.TrimPrefix(h, "@"))
		if err != nil {
			s.failErr(w, r, err) // an unknown person: 404
			return
		}
		*p.id = n.ID
	}
	list, err := s.d.Feedback.ListKudos(r.Context(), me(r).ID, f)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	resp := struct {
		Kudos      []feedback.Kudos `json:"kudos"`
		NextBefore int64            `json:"next_before,omitempty"`
	}{Kudos: list}
	if resp.Kudos == nil {
		resp.Kudos = []feedback.Kudos{}
	}
	if len(list) == int(limit) {
		resp.NextBefore = list[len(list)-1].ID
	}
	s.writeJSON(w, http.StatusOK, resp)
}

// kudosSection is the kudos part of person's profile as viewer sees it:
// public kudos only, except that people see their own private ones received.
func (s *Server) kudosSection(r *http.Request, viewer, person community.Node) (components.KudosSection, error) {
	v := components.KudosSection{
		Handle: person.Handle, DisplayName: person.DisplayName,
		CanGive: viewer.ID != person.ID && person.Active,
		Form:    components.KudosForm{Public: true},
	}
	received, err := s.d.Feedback.ListKudos(r.Context(), viewer.ID, feedback.KudosFilter{To: person.ID, PublicOnly: viewer.ID != person.ID, Limit: 20})
	if err != nil {
		return v, err
	}
	given, err := s.d.Feedback.ListKudos(r.Context(), viewer.ID, feedback.KudosFilter{From: person.ID, PublicOnly: true, Limit: 20})
	if err != nil {
		return v, err
	}
	v.Received, v.Given = kudosItems(received), kudosItems(given)
	return v, nil
}

func kudosItems(list []feedback.Kudos) []components.KudosItem {
	out := make([]components.KudosItem, 0, len(list))
	for _, k := range list {
		out = append(out, components.KudosItem{
			ID: k.ID, Message: k.Message, Values: k.Values, Public: k.Public, CreatedAt: k.CreatedAt,
			From: components.PersonLink{Handle: k.From.Handle, DisplayName: k.From.DisplayName},
			To:   components.PersonLink{Handle: k.To.Handle, DisplayName: k.To.DisplayName},
		})
	}
	return out
}

// kudosForm is the profile's "give kudos" form: back to the profile, or the
// form again with the problem.
func (s *Server) kudosForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	person, err := s.d.Store.FindNodeByHandle(r.Context(), chi.URLParam(r, "handle"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	form := components.KudosForm{Message: r.PostForm.Get("message"), Values: r.PostForm.Get("values"), Public: r.PostForm.Get("public") == "true"}
	_, err = s.d.Feedback.GiveKudos(r.Context(), me(r).ID, feedback.KudosInput{
		ToHandle: person.Handle, Message: form.Message, Values: feedback.SplitValues(form.Values), Public: form.Public,
	})
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/people/"+url.PathEscape(person.Handle)+"#kudos", http.StatusSeeOther)
	case errors.As(err, &ve):
		form.Errors = components.FieldErrors{ve.Field: ve.Message}
		sec := components.KudosSection{Handle: person.Handle, DisplayName: person.DisplayName, CanGive: true, Form: form}
		s.render(w, r, http.StatusUnprocessableEntity, components.KudosPage(components.KudosView{Page: s.page("Give kudos", "people"), Section: sec}))
	default:
		s.failErr(w, r, err)
	}
}
