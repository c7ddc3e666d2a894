package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// mountMarks registers peer verification of shares: marks (confirm or
// dispute) and the author's correction, as JSON API and as forms.
func (s *Server) mountMarks(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Post("/api/v1/shares/{id}/marks", s.apiMarkShare)
		r.Delete("/api/v1/shares/{id}/marks", s.apiUnmarkShare)
		r.Put("/api/v1/shares/{id}/correction", s.apiCorrectShare)
		r.Get("/shares/{id}/marks", s.markPage)
		r.Post("/shares/{id}/marks", s.markForm)
		r.Post("/shares/{id}/marks/delete", s.unmarkForm)
		r.Get("/shares/{id}/correction", s.correctionPage)
		r.Post("/shares/{id}/correction", s.correctionForm)
	})
}

// markRequest is the body of POST /api/v1/shares/{id}/marks.
type markRequest struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
	Source  string `json:"source"`
}

// apiMarkShare sets the caller's mark: 201 for a first mark, 200 for a change,
// with the share's marks after it.
func (s *Server) apiMarkShare(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var req markRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	sm, created, err := s.d.Feedback.MarkShare(r.Context(), me(r).ID, id, feedback.MarkInput(req))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.writeJSON(w, status, sm)
}

func (s *Server) apiUnmarkShare(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.d.Feedback.UnmarkShare(r.Context(), me(r).ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiCorrectShare(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	c, err := s.d.Feedback.CorrectShare(r.Context(), me(r).ID, id, req.Body)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, c)
}

// withMarks fills the verification fields of share cards with one query for
// the whole list. The cards are of shares viewer was allowed to list. A
// failure leaves the cards as they are: a feed without counts beats no feed.
func (s *Server) withMarks(r *http.Request, cards []components.ShareCard) []components.ShareCard {
	if len(cards) == 0 {
		return cards
	}
	ids := make([]int64, len(cards))
	for i, c := range cards {
		ids[i] = c.ID
	}
	sums, err := s.d.Feedback.MarksOf(r.Context(), me(r).ID, ids)
	if err != nil {
		s.d.Logger.Warn("share marks", "err", err)
		return cards
	}
	for i := range cards {
		applyMarks(&cards[i], sums[cards[i].ID])
	}
	return cards
}

func applyMarks(c *components.ShareCard, m feedback.MarkSummary) {
	c.Disputed, c.Confirmed = m.Marks.Disputed, m.Marks.Confirmed
	c.DisputedByNetwork, c.MyMark = m.DisputedByNetwork, m.Mine
	c.Correction = ""
	if m.Correction != nil {
		c.Correction = m.Correction.Body
	}
}

// shareCardWithMarks is the full card of one share for its own pages: counts,
// label, correction and every reason.
func (s *Server) shareCardWithMarks(r *http.Request, sh community.Share) (components.ShareCard, error) {
	c := shareCard(sh, me(r).ID)
	sm, err := s.d.Feedback.ShareMarks(r.Context(), me(r).ID, sh.ID)
	if err != nil {
		return c, err
	}
	applyMarks(&c, sm.MarkSummary)
	for _, m := range sm.Reasons {
		c.Reasons = append(c.Reasons, components.MarkReason{
			Verdict: m.Verdict, Reason: m.Reason, Source: m.Source, At: m.At,
			By: components.PersonLink{Handle: m.By, DisplayName: m.ByName},
		})
	}
	return c, nil
}

func shareMarksURL(id int64) string { return "/shares/" + strconv.FormatInt(id, 10) + "#marks" }

// markPage is the full form to mark a share (the cards carry small ones).
func (s *Server) markPage(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.shareFromPath(w, r)
	if !ok {
		return
	}
	c, err := s.shareCardWithMarks(r, sh)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	form := components.MarkForm{Verdict: c.MyMark}
	s.render(w, r, http.StatusOK, components.MarkPage(components.MarkView{Page: s.page("Confirm or dispute", ""), Share: c, Form: form}))
}

// markForm sets the viewer's mark and goes to the share's page, where the
// reasons are; a mark that needs fixing comes back with what was typed.
func (s *Server) markForm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	in := feedback.MarkInput{Verdict: r.PostForm.Get("verdict"), Reason: r.PostForm.Get("reason"), Source: r.PostForm.Get("source")}
	_, _, err := s.d.Feedback.MarkShare(r.Context(), me(r).ID, id, in)
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, shareMarksURL(id), http.StatusSeeOther)
	case errors.As(err, &ve):
		sh, ok := s.shareFromPath(w, r)
		if !ok {
			return
		}
		c, err := s.shareCardWithMarks(r, sh)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		form := components.MarkForm{Verdict: in.Verdict, Reason: in.Reason, Source: in.Source, Errors: components.FieldErrors{ve.Field: ve.Message}}
		s.render(w, r, http.StatusUnprocessableEntity, components.MarkPage(components.MarkView{Page: s.page("Confirm or dispute", ""), Share: c, Form: form}))
	case errors.Is(err, community.ErrForbidden):
		s.fail(w, r, http.StatusForbidden, "You cannot mark your own share: post a correction instead.")
	default:
		s.failErr(w, r, err)
	}
}

func (s *Server) unmarkForm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	_, err := s.d.Feedback.UnmarkShare(r.Context(), me(r).ID, id)
	// Withdrawing twice (a second click) leaves the same result: no mark.
	if err != nil && !errors.Is(err, community.ErrNotFound) {
		s.failErr(w, r, err)
		return
	}
	if err != nil {
		if _, ok := s.shareFromPath(w, r); !ok {
			return // the share itself is gone or unreadable: 404
		}
	}
	http.Redirect(w, r, shareMarksURL(id), http.StatusSeeOther)
}

// correctionPage is the author's form to correct their share.
func (s *Server) correctionPage(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.shareFromPath(w, r)
	if !ok {
		return
	}
	if sh.Author.ID != me(r).ID {
		s.fail(w, r, http.StatusForbidden, "Only the author can correct a share.")
		return
	}
	c, err := s.shareCardWithMarks(r, sh)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, components.CorrectionPage(components.CorrectionView{Page: s.page("Correct your share", ""), Share: c, Body: c.Correction}))
}

func (s *Server) correctionForm(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.shareFromPath(w, r)
	if !ok {
		return
	}
	body := r.PostFormValue("body")
	_, err := s.d.Feedback.CorrectShare(r.Context(), me(r).ID, sh.ID, body)
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/shares/"+strconv.FormatInt(sh.ID, 10), http.StatusSeeOther)
	case errors.As(err, &ve):
		c, cerr := s.shareCardWithMarks(r, sh)
		if cerr != nil {
			s.failErr(w, r, cerr)
			return
		}
		s.render(w, r, http.StatusUnprocessableEntity, components.CorrectionPage(components.CorrectionView{
			Page: s.page("Correct your share", ""), Share: c, Body: body, Error: ve.Message}))
	case errors.Is(err, community.ErrForbidden):
		s.fail(w, r, http.StatusForbidden, "Only the author can correct a share.")
	default:
		s.failErr(w, r, err)
	}
}
