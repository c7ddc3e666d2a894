package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/asks"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// mountAsks registers asking the network: the JSON API and the needs pages.
// Every form works without JavaScript: POST, then a 303 redirect.
func (s *Server) mountAsks(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Post("/api/v1/asks", s.apiCreateAsk)
		r.Get("/api/v1/asks", s.apiListAsks)
		r.Get("/api/v1/asks/{id}", s.apiGetAsk)
		r.Post("/api/v1/asks/{id}/answers", s.apiAnswerAsk)
		r.Post("/api/v1/asks/{id}/answers/{aid}/accept", s.apiAcceptAnswer)
		r.Post("/api/v1/asks/{id}/answers/{aid}/reactions", s.apiAskReact)
		r.Delete("/api/v1/asks/{id}/answers/{aid}/reactions/{reaction}", s.apiAskUnreact)
		r.Post("/api/v1/asks/{id}/refer", s.apiReferAsk)
		r.Post("/api/v1/asks/{id}/decline", s.apiDeclineAsk)
		r.Post("/api/v1/asks/{id}/close", s.apiCloseAsk)
		r.Get("/api/v1/offers", s.apiSearchOffers)

		r.Get("/needs", s.needsPage)
		r.Post("/asks", s.askForm)
		r.Get("/asks/{id}", s.askPage)
		r.Post("/asks/{id}/answers", s.askAnswerForm)
		r.Post("/asks/{id}/answers/{aid}/accept", s.askAcceptForm)
		r.Post("/asks/{id}/answers/{aid}/react", s.askReactForm)
		r.Post("/asks/{id}/refer", s.askReferForm)
		r.Post("/asks/{id}/decline", s.askDeclineForm)
		r.Post("/asks/{id}/close", s.askCloseForm)
	})
}

// askIDs parses {id} and, when named, {aid}; a malformed one is a 404.
func (s *Server) askIDs(w http.ResponseWriter, r *http.Request, withAnswer bool) (ask, answer int64, ok bool) {
	if ask, ok = s.idParam(w, r, "id", "ask"); !ok {
		return 0, 0, false
	}
	if withAnswer {
		if answer, ok = s.idParam(w, r, "aid", "answer"); !ok {
			return 0, 0, false
		}
	}
	return ask, answer, true
}

type askRequest struct {
	Title         string   `json:"title"`
	Body          string   `json:"body"`
	Tags          []string `json:"tags"`
	CommunitySlug string   `json:"community_slug"`
	Urgency       string   `json:"urgency"`
	// WidenAfter is how long to wait before routing widens, as Go duration
	// text ("30m", "2h"); empty for the urgency's default.
	WidenAfter string `json:"widen_after"`
}

func (s *Server) apiCreateAsk(w http.ResponseWriter, r *http.Request) {
	var req askRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	in := asks.AskInput{Title: req.Title, Body: req.Body, Tags: req.Tags, CommunitySlug: req.CommunitySlug, Urgency: req.Urgency}
	if strings.TrimSpace(req.WidenAfter) != "" {
		d, err := time.ParseDuration(strings.TrimSpace(req.WidenAfter))
		if err != nil {
			s.failField(w, r, http.StatusUnprocessableEntity, "widen_after", "Give a duration such as 30m or 2h.")
			return
		}
		in.WidenAfter = d
	}
	out, err := s.d.Asks.CreateAsk(r.Context(), me(r).ID, in)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, out)
}

func (s *Server) apiListAsks(w http.ResponseWriter, r *http.Request) {
	filter, err := parseAskFilter(r.URL.Query()) // web/params.go
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	limit := filter.Limit
	list, err := s.d.Asks.ListAsks(r.Context(), me(r).ID, filter)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	resp := map[string]any{"asks": list}
	if list == nil {
		resp["asks"] = []asks.Ask{}
	}
	if len(list) == int(limit) {
		resp["next_before"] = list[len(list)-1].ID
	}
	s.writeJSON(w, http.StatusOK, resp)
}

func (s *Server) apiGetAsk(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok {
		return
	}
	d, err := s.d.Asks.FindAsk(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiAnswerAsk(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok {
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	a, err := s.d.Asks.AnswerAsk(r.Context(), me(r).ID, id, req.Body)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, a)
}

func (s *Server) apiAcceptAnswer(w http.ResponseWriter, r *http.Request) {
	id, aid, ok := s.askIDs(w, r, true)
	if !ok {
		return
	}
	out, err := s.d.Asks.AcceptAnswer(r.Context(), me(r).ID, id, aid)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiAskReact(w http.ResponseWriter, r *http.Request) {
	id, aid, ok := s.askIDs(w, r, true)
	if !ok {
		return
	}
	var req struct {
		Reaction string `json:"reaction"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	a, err := s.d.Asks.React(r.Context(), me(r).ID, id, aid, req.Reaction, true)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, a)
}

func (s *Server) apiAskUnreact(w http.ResponseWriter, r *http.Request) {
	id, aid, ok := s.askIDs(w, r, true)
	if !ok {
		return
	}
	a, err := s.d.Asks.React(r.Context(), me(r).ID, id, aid, chi.URLParam(r, "reaction"), false)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, a)
}

func (s *Server) apiReferAsk(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok {
		return
	}
	var req struct {
		ToHandle string `json:"to_handle"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	route, err := s.d.Asks.Refer(r.Context(), me(r).ID, id, req.ToHandle)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, route)
}

func (s *Server) apiDeclineAsk(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok {
		return
	}
	if err := s.d.Asks.Decline(r.Context(), me(r).ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiCloseAsk(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok {
		return
	}
	a, err := s.d.Asks.CloseAsk(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, a)
}

func (s *Server) apiSearchOffers(w http.ResponseWriter, r *http.Request) {
	limit, ok := s.queryInt(w, r, "limit", 50, 100)
	if !ok {
		return
	}
	list, err := s.d.Asks.SearchOffers(r.Context(), r.URL.Query().Get("q"), int(limit))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if list == nil {
		list = []asks.OfferMatch{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"offers": list})
}

// ---------------------------------------------------------------------------
// Pages.
// ---------------------------------------------------------------------------

func askCard(a asks.Ask) components.AskCard {
	c := components.AskCard{
		ID: a.ID, Title: a.Title, AskerHandle: a.Asker.Handle, AskerName: a.Asker.DisplayName, Tags: a.Tags,
		Urgency: a.Urgency, Status: a.Status, Answers: a.AnswerCount, CreatedAt: a.CreatedAt,
	}
	if a.Community != nil {
		c.CommunitySlug, c.CommunityName = a.Community.Slug, a.Community.Name
	}
	return c
}

func askOfferLines(list []asks.OfferMatch) []components.OfferLine {
	out := make([]components.OfferLine, 0, len(list))
	for _, o := range list {
		out = append(out, components.OfferLine{Handle: o.Node.Handle, DisplayName: o.Node.DisplayName, Body: o.Body, Tags: o.Tags})
	}
	return out
}

// needCards turns asks into cards with the offers that match each.
func (s *Server) needCards(r *http.Request, list []asks.Ask, withOffers bool) []components.AskCard {
	out := make([]components.AskCard, 0, len(list))
	for _, a := range list {
		c := askCard(a)
		if withOffers {
			if offers, err := s.d.Asks.MatchingOffers(r.Context(), a.Tags, a.Asker.ID, 3); err == nil {
				c.Offers = askOfferLines(offers)
			}
		}
		out = append(out, c)
	}
	return out
}

// asksForYou is the dashboard's list of open asks offered to node.
func (s *Server) asksForYou(r *http.Request, node int64) []components.AskCard {
	list, err := s.d.Asks.OfferedTo(r.Context(), node, 5)
	if err != nil {
		s.d.Logger.Warn("asks for the dashboard", "err", err)
		return nil
	}
	out := make([]components.AskCard, 0, len(list))
	for _, o := range list {
		c := askCard(o.Ask)
		c.Reason, c.Path = o.Route.Reason, o.Route.Path
		out = append(out, c)
	}
	return out
}

func (s *Server) askFormView(r *http.Request, f components.AskForm) components.AskForm {
	mine, err := s.d.Store.ListCommunities(r.Context(), me(r).ID, true, 200)
	if err == nil {
		for _, c := range mine {
			f.Communities = append(f.Communities, components.CommunityOption{Slug: c.Slug, Name: c.Name})
		}
	}
	return f
}

func (s *Server) needsPage(w http.ResponseWriter, r *http.Request) {
	s.renderNeeds(w, r, http.StatusOK, components.AskForm{})
}

func (s *Server) renderNeeds(w http.ResponseWriter, r *http.Request, status int, form components.AskForm) {
	ctx, node := r.Context(), me(r).ID
	v := components.NeedsView{Page: s.page("Needs", "needs"), Form: s.askFormView(r, form), OfferQ: r.URL.Query().Get("q")}
	offered, err := s.d.Asks.OfferedTo(ctx, node, 20)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	for _, o := range offered {
		c := askCard(o.Ask)
		c.Reason, c.Path = o.Route.Reason, o.Route.Path
		v.Offered = append(v.Offered, c)
	}
	lists := []struct {
		into       *[]components.AskCard
		f          asks.ListFilter
		withOffers bool
	}{
		{&v.Unanswered, asks.ListFilter{Scope: "unanswered", Limit: 15}, true},
		{&v.Stale, asks.ListFilter{Scope: "stale", Limit: 15}, true},
		{&v.Communities, asks.ListFilter{Scope: "communities", Status: asks.StatusOpen, Limit: 10}, false},
		{&v.Mine, asks.ListFilter{Scope: "mine", Limit: 10}, false},
	}
	for _, l := range lists {
		list, err := s.d.Asks.ListAsks(ctx, node, l.f)
		if err != nil {
			s.failErr(w, r, err)
			return
		}
		*l.into = s.needCards(r, list, l.withOffers)
	}
	hits, err := s.d.Asks.SearchOffers(ctx, v.OfferQ, 20)
	var ve *community.ValidationError
	switch {
	case errors.As(err, &ve):
		v.SearchError = ve.Message
	case err != nil:
		s.failErr(w, r, err)
		return
	}
	v.OfferHits, v.Searched = askOfferLines(hits), strings.TrimSpace(v.OfferQ) != ""
	s.render(w, r, status, components.NeedsPage(v))
}

// askSplitTags reads the comma-separated tags of a form.
func askSplitTags(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func (s *Server) askForm(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := components.AskForm{
		Title: r.PostFormValue("title"), Body: r.PostFormValue("body"), Tags: r.PostFormValue("tags"),
		Urgency: r.PostFormValue("urgency"), Community: r.PostFormValue("community_slug"),
	}
	out, err := s.d.Asks.CreateAsk(r.Context(), me(r).ID, asks.AskInput{
		Title: f.Title, Body: f.Body, Tags: askSplitTags(f.Tags), Urgency: f.Urgency, CommunitySlug: f.Community,
	})
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/asks/"+strconv.FormatInt(out.ID, 10)+"?routed="+strconv.Itoa(len(out.RoutedTo)), http.StatusSeeOther)
	case errors.As(err, &ve):
		f.Errors = components.FieldErrors{ve.Field: ve.Message}
		s.renderNeeds(w, r, http.StatusUnprocessableEntity, f)
	case errors.Is(err, community.ErrForbidden):
		f.Errors = components.FieldErrors{"community_slug": "Join the community first to ask in it."}
		s.renderNeeds(w, r, http.StatusForbidden, f)
	default:
		s.failErr(w, r, err)
	}
}

// askView builds an ask's page for the signed-in node.
func (s *Server) askView(r *http.Request, d asks.AskDetail) components.AskView {
	node := me(r).ID
	v := components.AskView{
		Page: s.page(d.Title, "needs"), Ask: askCard(d.Ask), Body: d.Body, MaxHops: d.MaxHops,
		IsAsker: d.Asker.ID == node,
	}
	v.Ask.Offers = askOfferLines(d.Offers)
	canAccept := v.IsAsker && d.AcceptedAnswerID == nil && d.Status != asks.StatusClosed
	for _, a := range d.Answers {
		av := components.AnswerView{
			ID: a.ID, AuthorHandle: a.Author.Handle, AuthorName: a.Author.DisplayName, Body: a.Body,
			Accepted: a.Accepted, CreatedAt: a.CreatedAt, CanAccept: canAccept, CanReact: a.Author.ID != node,
		}
		for _, name := range asks.Reactions {
			av.Reactions = append(av.Reactions, components.ReactionView{Name: name, Count: a.Reactions[name], Mine: slices.Contains(a.Mine, name)})
		}
		v.Answers = append(v.Answers, av)
	}
	if d.MyRoute != nil {
		v.MyRoute = askRouteView(*d.MyRoute)
		v.CanDecline = d.MyRoute.Status == asks.RouteOffered && d.Status == asks.StatusOpen
	}
	for _, rt := range d.RoutedTo {
		v.RoutedTo = append(v.RoutedTo, *askRouteView(rt))
	}
	v.CanAnswer = !v.IsAsker && d.Status != asks.StatusClosed
	v.CanRefer = d.Status == asks.StatusOpen
	if v.CanRefer {
		if ids, err := s.d.Store.ConnectedIDs(r.Context(), node); err == nil {
			if refs, err := s.d.Store.NodeRefs(r.Context(), ids); err == nil {
				offered := map[string]bool{}
				for _, rt := range d.RoutedTo {
					offered[rt.Handle] = true
				}
				for _, p := range refs {
					if p.ID != d.Asker.ID && !offered[p.Handle] {
						v.Connections = append(v.Connections, components.PersonLink{Handle: p.Handle, DisplayName: p.DisplayName})
					}
				}
			}
		}
	}
	switch q := r.URL.Query(); {
	case q.Has("routed"):
		n, _ := strconv.Atoi(q.Get("routed"))
		v.Notice = "Your ask is posted and was offered to " + askPlural(n, "person", "people") + " who may help."
		if n == 0 {
			v.Notice = "Your ask is posted. Nobody nearby matched its tags yet: it widens if nobody engages, and everyone sees it on the needs page."
		}
	case q.Get("done") == "referred":
		v.Notice = "Passed on. Thank you for the introduction."
	case q.Get("done") == "declined":
		v.Notice = "Declined: it will find someone else."
	case q.Get("done") == "answered":
		v.Notice = "Your answer is posted; the asker hears of it now."
	case q.Get("done") == "accepted":
		v.Notice = "Answer accepted. Its author's expertise grows, and future asks find them."
	}
	return v
}

func askPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func askRouteView(rt asks.Route) *components.RouteView {
	return &components.RouteView{Handle: rt.Handle, DisplayName: rt.DisplayName, Reason: rt.Reason, Path: rt.Path, Status: rt.Status, Via: rt.Via}
}

func (s *Server) loadAsk(w http.ResponseWriter, r *http.Request) (asks.AskDetail, bool) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok {
		return asks.AskDetail{}, false
	}
	d, err := s.d.Asks.FindAsk(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return d, false
	}
	return d, true
}

func (s *Server) askPage(w http.ResponseWriter, r *http.Request) {
	d, ok := s.loadAsk(w, r)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, components.AskPage(s.askView(r, d)))
}

func askDone(id int64, done string) string {
	return "/asks/" + strconv.FormatInt(id, 10) + "?" + url.Values{"done": {done}}.Encode()
}

func (s *Server) askAnswerForm(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok || !s.parseForm(w, r) {
		return
	}
	body := r.PostFormValue("body")
	a, err := s.d.Asks.AnswerAsk(r.Context(), me(r).ID, id, body)
	var ve *community.ValidationError
	if errors.As(err, &ve) {
		d, ok := s.loadAsk(w, r)
		if !ok {
			return
		}
		v := s.askView(r, d)
		v.AnswerBody, v.AnswerError = body, ve.Message
		s.render(w, r, http.StatusUnprocessableEntity, components.AskPage(v))
		return
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, askDone(id, "answered")+"#answer-"+strconv.FormatInt(a.ID, 10), http.StatusSeeOther)
}

func (s *Server) askAcceptForm(w http.ResponseWriter, r *http.Request) {
	id, aid, ok := s.askIDs(w, r, true)
	if !ok {
		return
	}
	if _, err := s.d.Asks.AcceptAnswer(r.Context(), me(r).ID, id, aid); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, askDone(id, "accepted")+"#answer-"+strconv.FormatInt(aid, 10), http.StatusSeeOther)
}

func (s *Server) askReactForm(w http.ResponseWriter, r *http.Request) {
	id, aid, ok := s.askIDs(w, r, true)
	if !ok || !s.parseForm(w, r) {
		return
	}
	on := r.PostFormValue("on") != "false"
	if _, err := s.d.Asks.React(r.Context(), me(r).ID, id, aid, r.PostFormValue("reaction"), on); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/asks/"+strconv.FormatInt(id, 10)+"#answer-"+strconv.FormatInt(aid, 10), http.StatusSeeOther)
}

func (s *Server) askReferForm(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok || !s.parseForm(w, r) {
		return
	}
	to := r.PostFormValue("to_handle")
	_, err := s.d.Asks.Refer(r.Context(), me(r).ID, id, to)
	var ve *community.ValidationError
	if errors.As(err, &ve) || errors.Is(err, community.ErrConflict) {
		d, ok := s.loadAsk(w, r)
		if !ok {
			return
		}
		v := s.askView(r, d)
		v.ReferTo, v.ReferError = to, err.Error()
		status := http.StatusConflict
		if ve != nil {
			v.ReferError, status = ve.Message, http.StatusUnprocessableEntity
		}
		s.render(w, r, status, components.AskPage(v))
		return
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, askDone(id, "referred"), http.StatusSeeOther)
}

func (s *Server) askDeclineForm(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok {
		return
	}
	if err := s.d.Asks.Decline(r.Context(), me(r).ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, askDone(id, "declined"), http.StatusSeeOther)
}

func (s *Server) askCloseForm(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.askIDs(w, r, false)
	if !ok {
		return
	}
	if _, err := s.d.Asks.CloseAsk(r.Context(), me(r).ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/asks/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}
