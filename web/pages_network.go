package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/asks"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// mountNetworkPages registers the pages of the network: dashboard (on /),
// people, communities, search and the forms behind them. Every form works
// without JavaScript: POST, then a 303 redirect.
func (s *Server) mountNetworkPages(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Get("/people", s.peoplePage)
		r.Get("/people/{handle}", s.personPage)
		r.Get("/communities", s.communitiesPage)
		r.Post("/communities", s.createCommunityForm)
		r.Get("/communities/{slug}", s.communityPage)
		r.Post("/communities/{slug}/join", s.joinForm)
		r.Post("/communities/{slug}/leave", s.leaveForm)
		r.Post("/communities/{slug}/purpose", s.purposeForm)
		r.Get("/search", s.searchPage)
		r.Post("/shares", s.shareForm)
		r.Get("/shares/{id}", s.sharePage)
		r.Get("/shares/{id}/edit", s.editSharePage)
		r.Post("/shares/{id}/edit", s.editShareForm)
		r.Post("/shares/{id}/delete", s.deleteShareForm)
		r.Post("/shares/{id}/reshare", s.reshareForm)
	})
}

// mountLive registers the pages' live streams, outside the request timeout:
// a stream lasts as long as its browser stays (Drain ends them on shutdown).
func (s *Server) mountLive(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Get("/live", s.livePage)
		r.Get("/threads/{id}/live", s.threadLive)
		r.Get("/proposals/{id}/live", s.proposalLive)
	})
}

func shareCards(shares []community.Share, viewer int64) []components.ShareCard {
	out := make([]components.ShareCard, 0, len(shares))
	for _, sh := range shares {
		out = append(out, shareCard(sh, viewer))
	}
	return out
}

func shareCard(sh community.Share, viewer int64) components.ShareCard {
	c := components.ShareCard{
		ID: sh.ID, AuthorHandle: sh.Author.Handle, AuthorName: sh.Author.DisplayName, Audience: sh.Audience,
		Body: sh.Body, Tags: sh.Tags, CreatedAt: sh.CreatedAt, Edited: sh.EditedAt != nil,
		Mine: viewer != 0 && sh.Author.ID == viewer,
	}
	if sh.Community != nil {
		c.CommunitySlug, c.CommunityName = sh.Community.Slug, sh.Community.Name
	}
	if sh.Origin != nil {
		c.Origin = &components.ShareOrigin{ID: sh.Origin.ID, AuthorHandle: sh.Origin.Author.Handle, AuthorName: sh.Origin.Author.DisplayName, Body: sh.Origin.Body}
	}
	// Shares everyone may read can be passed on (a community share's openness is
	// checked again by the store).
	c.CanReshare = viewer != 0 && !c.Mine && (sh.Audience == community.AudienceEveryone || sh.Audience == community.AudienceCommunity)
	// Any reader but the author may confirm or dispute it (the author corrects).
	c.CanMark = viewer != 0 && !c.Mine
	return c
}

func (s *Server) composer(r *http.Request, next string) components.Composer {
	mine, _ := s.d.Store.ListCommunities(r.Context(), me(r).ID, true, composerCommunities)
	return composerFor(next, mine)
}

// composerCommunities bounds the communities offered to share into.
const composerCommunities = 200

// composerFor is the share form offering the communities mine.
func composerFor(next string, mine []community.Community) components.Composer {
	c := components.Composer{Next: next}
	for _, m := range mine {
		c.Communities = append(c.Communities, components.CommunityOption{Slug: m.Slug, Name: m.Name})
	}
	return c
}

// dashboard is the signed-in home: the node's feed, live.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	node := me(r)
	q := r.URL.Query()
	filter, err := parseFeedFilter(q) // web/params.go
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	before := filter.Before
	// 50 shares: the page issue 8 holds to 20 ms of server time at p99.
	filter.Limit = 50
	feed, err := s.d.Store.Feed(r.Context(), node.ID, filter)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	// One list of the node's communities for the share form and the side list.
	mine, err := s.d.Store.ListCommunities(r.Context(), node.ID, true, composerCommunities)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.DashboardView{Page: s.page("Your network", "home"), Composer: composerFor("/", mine), Feed: s.withMarks(r, shareCards(feed, node.ID))}
	if filter.Tag != "" {
		v.Filter = "tagged #" + strings.TrimPrefix(filter.Tag, "#")
	} else if filter.Community != "" {
		v.Filter = "in " + filter.Community
	} else if before > 0 {
		v.Filter = "older shares"
	}
	if len(feed) == filter.Limit {
		next := url.Values{"before": {strconv.FormatInt(feed[len(feed)-1].ID, 10)}}
		for _, k := range []string{"community", "tag"} {
			if q.Get(k) != "" {
				next.Set(k, q.Get(k))
			}
		}
		v.OlderURL = "/?" + next.Encode()
	}
	for _, c := range mine[:min(len(mine), 50)] {
		v.Communities = append(v.Communities, communityItem(c))
	}
	if n, err := s.d.Store.PendingRequests(r.Context(), node.ID); err == nil {
		v.Pending = n
	}
	v.Online = s.onlineConnections(r, node.ID)
	v.Asks = s.asksForYou(r, node.ID)
	v.FeedbackRequests = s.feedbackRequestItems(r.Context(), node.ID)
	s.render(w, r, http.StatusOK, components.Dashboard(v))
}

func communityItem(c community.Community) components.CommunityItem {
	return components.CommunityItem{Slug: c.Slug, Name: c.Name, Purpose: c.Purpose, Open: c.Open, IsMember: c.IsMember, Members: c.Members}
}

// backTo is a safe local redirect target from a form: a path on this site only.
func backTo(next, fallback string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return fallback
	}
	return next
}

func (s *Server) shareForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	in := community.ShareInput{Body: r.PostForm.Get("body"), Audience: r.PostForm.Get("audience")}
	if slug, ok := strings.CutPrefix(in.Audience, "community:"); ok {
		in.Audience, in.CommunitySlug = community.AudienceCommunity, slug
	}
	next := backTo(r.PostForm.Get("next"), "/")
	if _, err := s.shareCreator().CreateShare(r.Context(), me(r).ID, in); err != nil {
		var ve *community.ValidationError
		if errors.As(err, &ve) || errors.Is(err, community.ErrForbidden) {
			c := s.composer(r, next)
			c.Body, c.Audience, c.Community = in.Body, in.Audience, in.CommunitySlug
			c.Error, c.Field = "You cannot share into that community: join it first.", "audience"
			if ve != nil {
				c.Error, c.Field = ve.Message, ve.Field
			}
			s.render(w, r, http.StatusUnprocessableEntity, components.ComposePage(s.page("Share", ""), c))
			return
		}
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) shareFromPath(w http.ResponseWriter, r *http.Request) (community.Share, bool) {
	id, ok := s.pathID(w, r)
	if !ok {
		return community.Share{}, false
	}
	sh, err := s.d.Store.FindShare(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return sh, false
	}
	return sh, true
}

func (s *Server) sharePage(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.shareFromPath(w, r)
	if !ok {
		return
	}
	edits, err := s.d.Store.ShareHistory(r.Context(), me(r).ID, sh.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	origin := sh.ID
	if sh.Origin != nil {
		origin = sh.Origin.ID
	}
	spread, err := s.d.Store.ShareSpread(r.Context(), me(r).ID, origin)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	card, err := s.shareCardWithMarks(r, sh)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.ShareView{Page: s.page("Share", ""), Share: card}
	for _, e := range edits {
		v.Edits = append(v.Edits, components.ShareEditItem{Body: e.Body, EditedAt: e.EditedAt})
	}
	for _, p := range spread {
		v.Spread = append(v.Spread, components.SpreadItem{From: p.From, By: p.By, Community: p.Community, At: p.At})
	}
	s.render(w, r, http.StatusOK, components.SharePage(v))
}

func (s *Server) editSharePage(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.shareFromPath(w, r)
	if !ok {
		return
	}
	if sh.Author.ID != me(r).ID {
		s.fail(w, r, http.StatusForbidden, "Only the author can edit a share.")
		return
	}
	s.render(w, r, http.StatusOK, components.EditShare(components.EditShareView{Page: s.page("Edit share", ""), Share: shareCard(sh, me(r).ID), Body: sh.Body}))
}

func (s *Server) editShareForm(w http.ResponseWriter, r *http.Request) {
	sh, ok := s.shareFromPath(w, r)
	if !ok {
		return
	}
	body := r.PostFormValue("body")
	if _, err := s.d.Store.EditShare(r.Context(), me(r).ID, sh.ID, body); err != nil {
		var ve *community.ValidationError
		if errors.As(err, &ve) {
			s.render(w, r, http.StatusUnprocessableEntity, components.EditShare(components.EditShareView{
				Page: s.page("Edit share", ""), Share: shareCard(sh, me(r).ID), Body: body, Error: ve.Message}))
			return
		}
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/#share-"+strconv.FormatInt(sh.ID, 10), http.StatusSeeOther)
}

func (s *Server) deleteShareForm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.d.Store.DeleteShare(r.Context(), me(r).ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) reshareForm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if _, err := s.d.Store.Reshare(r.Context(), me(r).ID, id, r.PostFormValue("community"), r.PostFormValue("body")); err != nil {
		if errors.Is(err, community.ErrForbidden) {
			s.fail(w, r, http.StatusForbidden, "Only shares everyone can read can be passed on.")
			return
		}
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) communitiesPage(w http.ResponseWriter, r *http.Request) {
	s.renderCommunities(w, r, http.StatusOK, components.CommunityForm{Open: true})
}

func (s *Server) renderCommunities(w http.ResponseWriter, r *http.Request, status int, form components.CommunityForm) {
	list, err := s.d.Store.ListCommunities(r.Context(), me(r).ID, false, 500)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.CommunitiesView{Page: s.page("Communities", "communities"), Form: form}
	for _, c := range list {
		v.Communities = append(v.Communities, communityItem(c))
	}
	s.render(w, r, status, components.Communities(v))
}

func (s *Server) createCommunityForm(w http.ResponseWriter, r *http.Request) {
	form := components.CommunityForm{
		Name: r.PostFormValue("name"), Slug: r.PostFormValue("slug"), Purpose: r.PostFormValue("purpose"),
		Open: r.PostFormValue("open") == "true",
	}
	c, err := s.d.Store.CreateCommunity(r.Context(), me(r).ID, community.CommunityInput{Name: form.Name, Slug: form.Slug, Purpose: form.Purpose, Open: form.Open})
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/communities/"+c.Slug, http.StatusSeeOther)
	case errors.As(err, &ve):
		form.Errors = components.FieldErrors{ve.Field: ve.Message}
		s.renderCommunities(w, r, http.StatusUnprocessableEntity, form)
	case errors.Is(err, community.ErrConflict):
		form.Errors = components.FieldErrors{"slug": err.Error()}
		s.renderCommunities(w, r, http.StatusConflict, form)
	default:
		s.failErr(w, r, err)
	}
}

func (s *Server) communityPage(w http.ResponseWriter, r *http.Request) {
	node := me(r)
	c, err := s.d.Store.FindCommunity(r.Context(), node.ID, chi.URLParam(r, "slug"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	before, err := parseCount("before", r.URL.Query().Get("before"), 0, 0)
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	shares, err := s.d.Store.CommunityShares(r.Context(), node.ID, c.ID, before, 20)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	members, err := s.d.Store.Members(r.Context(), c.ID, 500)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	history, err := s.d.Store.PurposeHistory(r.Context(), c.ID, 20)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.CommunityView{Page: s.page(c.Name, "communities"), C: communityItem(c), Shares: s.withMarks(r, shareCards(shares, node.ID))}
	v.Composer = s.composer(r, "/communities/"+c.Slug)
	v.Composer.Audience, v.Composer.Community = community.AudienceCommunity, c.Slug
	online := s.d.Members.Online()
	for _, m := range members {
		p := components.PersonLink{Handle: m.Handle, DisplayName: m.DisplayName}
		v.Members = append(v.Members, p)
		if online[m.ID] {
			v.Online = append(v.Online, p)
		}
	}
	for _, h := range history {
		v.History = append(v.History, components.PurposeItem{Purpose: h.Purpose, EditedBy: h.EditedBy, EditedAt: h.EditedAt})
	}
	if len(shares) == 20 {
		v.OlderURL = "/communities/" + c.Slug + "?before=" + strconv.FormatInt(shares[len(shares)-1].ID, 10)
	}
	v.Decisions = s.communityDecisions(r, c)
	s.render(w, r, http.StatusOK, components.CommunityPage(v))
}

func (s *Server) joinForm(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if _, err := s.d.Store.JoinCommunity(r.Context(), me(r).ID, slug); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/communities/"+slug, http.StatusSeeOther)
}

func (s *Server) leaveForm(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if err := s.d.Store.LeaveCommunity(r.Context(), me(r).ID, slug); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/communities/"+slug, http.StatusSeeOther)
}

func (s *Server) purposeForm(w http.ResponseWriter, r *http.Request) {
	slug := chi.URLParam(r, "slug")
	if _, err := s.d.Store.UpdatePurpose(r.Context(), me(r).ID, slug, r.PostFormValue("purpose")); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, "/communities/"+slug, http.StatusSeeOther)
}

func (s *Server) peoplePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, text, err := parsePeopleQuery(q)
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	people, err := s.d.Store.ListPeople(r.Context(), after, text, 48)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.PeopleView{Page: s.page("People", "people"), Q: q.Get("q")}
	for _, p := range people {
		v.People = append(v.People, components.PersonCard{Handle: p.Handle, DisplayName: p.DisplayName, Skills: p.Skills})
	}
	if len(people) == 48 {
		v.NextURL = "/people?" + url.Values{"after": {people[len(people)-1].Handle}, "q": {q.Get("q")}}.Encode()
	}
	s.render(w, r, http.StatusOK, components.People(v))
}

func (s *Server) personPage(w http.ResponseWriter, r *http.Request) {
	viewer := me(r)
	n, err := s.d.Store.FindNodeByHandle(r.Context(), chi.URLParam(r, "handle"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	p, err := s.d.Store.Profile(r.Context(), n.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	shares, err := s.d.Store.AuthorShares(r.Context(), viewer.ID, n.ID, 20)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.PersonView{
		Page: s.page(n.DisplayName, "people"), Handle: n.Handle, DisplayName: n.DisplayName, Title: n.Title,
		Location: n.Location, Bio: n.Bio, Skills: n.Skills, Shares: s.withMarks(r, shareCards(shares, viewer.ID)),
		Self: n.ID == viewer.ID, Active: n.Active, Online: s.d.Members.Online()[n.ID],
	}
	for _, o := range p.Offers {
		v.Offers = append(v.Offers, components.OfferItem{Body: o.Body, Tags: o.Tags})
	}
	for _, o := range p.Needs {
		v.Needs = append(v.Needs, components.OfferItem{Body: o.Body, Tags: o.Tags})
	}
	if v.Kudos, err = s.kudosSection(r, viewer, n); err != nil {
		s.failErr(w, r, err)
		return
	}
	if conns, err := s.d.Store.ListConnections(r.Context(), viewer.ID); err == nil {
		for _, c := range conns {
			if c.Other.ID == n.ID {
				v.Connected = true // connected or asked: no second request
			}
		}
	}
	s.render(w, r, http.StatusOK, components.Person(v))
}

func (s *Server) searchPage(w http.ResponseWriter, r *http.Request) {
	q, err := parseSearchQuery(r.URL.Query().Get("q"))
	v := components.SearchView{Page: s.page("Search", "search"), Q: q}
	var pe *paramError
	if errors.As(err, &pe) {
		// Shown on the search page itself, with the query to correct.
		v.Q, v.Error = strings.ToValidUTF8(r.URL.Query().Get("q"), "\uFFFD"), pe.Message
		s.render(w, r, http.StatusUnprocessableEntity, components.Search(v))
		return
	}
	if q != "" {
		res, err := s.d.Store.Search(r.Context(), me(r).ID, q, 20)
		var ve *community.ValidationError
		switch {
		case errors.As(err, &ve):
			v.Error = ve.Message
		case err != nil:
			s.failErr(w, r, err)
			return
		}
		for _, p := range res.People {
			v.People = append(v.People, components.PersonCard{Handle: p.Handle, DisplayName: p.DisplayName, Skills: p.Skills})
		}
		for _, c := range res.Communities {
			v.Communities = append(v.Communities, communityItem(c))
		}
		v.Shares = s.withMarks(r, shareCards(res.Shares, me(r).ID))
	}
	s.render(w, r, http.StatusOK, components.Search(v))
}

// livePage is the dashboard's stream, resumable like the JSON one: new shares
// as rendered cards (event "share"), notices ("notice": connection requests to
// answer, marks on shares, feedback asked, asks routed to the node) and, when
// it changes, who of the node's connections is online ("online", checked every
// few seconds). Every fragment is rendered once per instance and event (see
// dashboardFormat), so the stream is served by the writers' pool.
func (s *Server) livePage(w http.ResponseWriter, r *http.Request) {
	s.hub.dashboard.once.Do(func() { s.hub.dashboard.format = s.dashboardFormat() })
	s.streamEvents(w, r, streamSpec{format: s.hub.dashboard.format})
}

// dashboardFormat renders events for the dashboard's stream. A fragment is
// the same for every viewer except a notice addressed to one node (the
// connection request's recipient, the ask's candidate, the thread's author):
// that node gets the rendering of variant 1, everyone else variant 0.
func (s *Server) dashboardFormat() *streamFormat {
	return &streamFormat{
		slot:   formatDashboard,
		online: true,
		variant: func(ev *liveEvent, viewer int64) int {
			if dashboardAddressee(ev) == viewer {
				return 1
			}
			return 0
		},
		render: func(ev *liveEvent, variant int, b *bytes.Buffer) {
			var frame bytes.Buffer
			if s.renderDashboardEvent(ev, variant == 1, &frame) == nil && frame.Len() > 0 {
				b.Write(frame.Bytes())
				return
			}
			// Keep the id moving so a reconnect resumes after it.
			_ = writeSSE(b, strconv.FormatUint(ev.Seq, 10), "skip", "")
		},
	}
}

// dashboardAddressee is the node a dashboard notice is for (0: none), decoded
// once per event.
func dashboardAddressee(ev *liveEvent) int64 {
	ev.addresseeOnce.Do(func() {
		switch ev.Event.Type {
		case "connection.requested":
			var c struct {
				ToNode int64 `json:"to_node"`
			}
			_ = json.Unmarshal(ev.Event.Object, &c)
			ev.addressee = c.ToNode
		case "ask.routed":
			var a struct {
				NodeID int64 `json:"node_id"`
			}
			_ = json.Unmarshal(ev.Event.Object, &a)
			ev.addressee = a.NodeID
		case "thread.requested", "thread.reminder":
			var n feedback.RequestNotice
			_ = json.Unmarshal(ev.Event.Object, &n)
			ev.addressee = n.Thread.Author.ID
		}
		if ev.addressee == 0 {
			ev.addressee = -1 // no node has id -1: nobody gets variant 1
		}
	})
	return ev.addressee
}

// renderDashboardEvent writes ev's fragment for the dashboard; nothing for an
// event the dashboard does not show. addressed is true for the rendering of
// the node the event is addressed to.
func (s *Server) renderDashboardEvent(ev *liveEvent, addressed bool, b *bytes.Buffer) error {
	id := strconv.FormatUint(ev.Seq, 10)
	// Rendered once for every stream: no request's context, and the lookups
	// get a deadline of their own.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var buf bytes.Buffer
	switch ev.Event.Type {
	case "share.created":
		var sh community.Share
		if err := json.Unmarshal(ev.Event.Object, &sh); err != nil {
			return nil
		}
		if err := components.Share(shareCard(sh, 0)).Render(ctx, &buf); err != nil {
			return err
		}
		return writeSSE(b, id, "share", buf.String())
	case "thread.requested", "thread.reminder":
		var viewer int64 // the thread's author sees it as theirs
		if addressed {
			viewer = dashboardAddressee(ev)
		}
		return writeFeedbackNotice(ctx, b, id, ev, viewer)
	case "connection.requested":
		var c struct {
			FromNode int64  `json:"from_node"`
			ToNode   int64  `json:"to_node"`
			Kind     string `json:"kind"`
		}
		if !addressed || s.d.Store == nil || json.Unmarshal(ev.Event.Object, &c) != nil {
			return nil
		}
		from, err := s.d.Store.FindNodeByID(ctx, c.FromNode)
		if err != nil {
			return nil
		}
		n := components.Notice{Who: components.PersonLink{Handle: from.Handle, DisplayName: from.DisplayName}, Kind: c.Kind}
		if err := components.ConnectionNotice(n).Render(ctx, &buf); err != nil {
			return err
		}
		return writeSSE(b, id, "notice", buf.String())
	case "share.marked":
		var m struct {
			ShareID           int64  `json:"share_id"`
			Change            string `json:"change"`
			Verdict           string `json:"verdict"`
			By                string `json:"by"`
			DisputedByNetwork bool   `json:"disputed_by_network"`
			LabelChanged      bool   `json:"label_changed"`
		}
		if json.Unmarshal(ev.Event.Object, &m) != nil {
			return nil
		}
		n := components.MarkNotice{ShareID: m.ShareID, By: m.By, Labelled: m.DisputedByNetwork, Label: m.LabelChanged}
		if m.Change == "marked" {
			n.Verdict = m.Verdict
		}
		if err := components.ShareMarkNotice(n).Render(ctx, &buf); err != nil {
			return err
		}
		return writeSSE(b, id, "notice", buf.String())
	case "ask.routed":
		var a asks.RoutedEvent
		if !addressed || json.Unmarshal(ev.Event.Object, &a) != nil {
			return nil
		}
		n := components.AskNotice{AskID: a.Ask.ID, Title: a.Ask.Title, AskerName: a.Ask.Asker.DisplayName,
			Reason: a.Route.Reason, Path: a.Route.Path}
		if a.Route.Via != "" {
			n.PassedOnBy = "@" + a.Route.Via
		}
		if err := components.AskRoutedNotice(n).Render(ctx, &buf); err != nil {
			return err
		}
		return writeSSE(b, id, "notice", buf.String())
	}
	return nil
}

// onlineConnections lists node's accepted connections that have a live stream
// on any instance of the cluster.
func (s *Server) onlineConnections(r *http.Request, node int64) []components.PersonLink {
	on, err := s.onlineIDs(r.Context(), node, nil)
	if err != nil {
		return nil
	}
	refs, err := s.d.Store.NodeRefs(r.Context(), on)
	if err != nil {
		return nil
	}
	return personLinks(refs)
}
