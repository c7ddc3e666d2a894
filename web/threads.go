package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// Viewing is a cluster-wide "who is viewing what" (bus.Presence): a live
// stream enters a key ("thread:42") for as long as it is open.
type Viewing interface {
	Enter(key string, node int64) (leave func())
	Viewers(key string) []int64
}

// mountThreads registers feedback threads: the JSON API, the pages and the
// per-thread live stream. Every form works without JavaScript (POST, then a
// 303 redirect back to the thread).
func (s *Server) mountThreads(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Post("/api/v1/threads", s.apiCreateThread)
		r.Get("/api/v1/threads", s.apiListThreads)
		r.Get("/api/v1/threads/{id}", s.apiGetThread)
		r.Post("/api/v1/threads/{id}/replies", s.apiReply)
		r.Patch("/api/v1/threads/{id}/replies/{rid}", s.apiEditReply)
		r.Get("/api/v1/threads/{id}/replies/{rid}/history", s.apiReplyHistory)
		r.Post("/api/v1/threads/{id}/replies/{rid}/reactions", s.apiReact)
		r.Post("/api/v1/threads/{id}/read", s.apiMarkRead)
		r.Post("/api/v1/threads/{id}/resolve", s.apiResolve)

		r.Get("/threads", s.threadsPage)
		r.Get("/threads/new", s.newThreadPage)
		r.Post("/threads", s.newThreadForm)
		r.Get("/threads/{id}", s.threadPage)
		r.Post("/threads/{id}/replies", s.replyForm)
		r.Get("/threads/{id}/replies/{rid}/edit", s.editReplyPage)
		r.Post("/threads/{id}/replies/{rid}/edit", s.editReplyForm)
		r.Post("/threads/{id}/replies/{rid}/reactions", s.reactForm)
		r.Post("/threads/{id}/resolve", s.resolveForm)
	})
}

// threadIDs parses {id} (and {rid} when want is 2); a malformed one is a 404.
func (s *Server) threadIDs(w http.ResponseWriter, r *http.Request, want int) (thread, reply int64, ok bool) {
	if thread, ok = s.idParam(w, r, "id", "thread"); !ok {
		return 0, 0, false
	}
	if want == 2 {
		if reply, ok = s.idParam(w, r, "rid", "reply"); !ok {
			return 0, 0, false
		}
	}
	return thread, reply, true
}

// parseDue reads a due date: a day (YYYY-MM-DD, due at its end, UTC) or an
// RFC 3339 time.
func parseDue(v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if d, err := time.Parse(time.DateOnly, v); err == nil {
		end := d.Add(24*time.Hour - time.Second)
		return &end, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, &community.ValidationError{Field: "due_at", Message: "give the due date as a day (2026-12-01) or an RFC 3339 time"}
	}
	return &t, nil
}

// splitHandles reads "ana, @ben cleo" as a list of handles.
func splitHandles(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
}

// ---------------------------------------------------------------------------
// JSON API.
// ---------------------------------------------------------------------------

func (s *Server) apiCreateThread(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CommunitySlug string   `json:"community_slug"`
		ToHandles     []string `json:"to_handles"`
		Kind          string   `json:"kind"`
		Title         string   `json:"title"`
		Body          string   `json:"body"`
		DueAt         string   `json:"due_at"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	due, err := parseDue(req.DueAt)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	th, err := s.d.Feedback.CreateThread(r.Context(), me(r).ID, feedback.ThreadInput{
		CommunitySlug: req.CommunitySlug, ToHandles: req.ToHandles, Kind: req.Kind, Title: req.Title, Body: req.Body, DueAt: due,
	})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, th)
}

// apiListThreads is GET /api/v1/threads?community&status&scope&q&before&limit:
// the threads the caller may read, newest first, with unread counts.
func (s *Server) apiListThreads(w http.ResponseWriter, r *http.Request) {
	filter, err := parseThreadFilter(r.URL.Query()) // web/params.go
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	limit := filter.Limit
	list, err := s.d.Feedback.ListThreads(r.Context(), me(r).ID, filter)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	resp := struct {
		Threads    []feedback.ThreadItem `json:"threads"`
		NextBefore int64                 `json:"next_before,omitempty"`
	}{Threads: list}
	if resp.Threads == nil {
		resp.Threads = []feedback.ThreadItem{}
	}
	if len(list) == int(limit) {
		resp.NextBefore = list[len(list)-1].ID
	}
	s.writeJSON(w, http.StatusOK, resp)
}

func (s *Server) apiGetThread(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.threadIDs(w, r, 1)
	if !ok {
		return
	}
	d, err := s.d.Feedback.FindThread(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	viewing := s.threadViewers(r.Context(), id)
	if viewing == nil {
		viewing = []community.NodeRef{}
	}
	s.writeJSON(w, http.StatusOK, struct {
		feedback.ThreadDetail
		Viewing []community.NodeRef `json:"viewing"`
	}{d, viewing})
}

func (s *Server) apiReply(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.threadIDs(w, r, 1)
	if !ok {
		return
	}
	var req struct {
		Body      string `json:"body"`
		Anonymous bool   `json:"anonymous"`
		QuoteID   int64  `json:"quote_id"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	rp, err := s.d.Feedback.Reply(r.Context(), me(r).ID, id, feedback.ReplyInput{Body: req.Body, Anonymous: req.Anonymous, QuoteID: req.QuoteID})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, rp)
}

func (s *Server) apiEditReply(w http.ResponseWriter, r *http.Request) {
	id, rid, ok := s.threadIDs(w, r, 2)
	if !ok {
		return
	}
	var req struct {
		Body string `json:"body"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	rp, err := s.d.Feedback.EditReply(r.Context(), me(r).ID, id, rid, req.Body)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, rp)
}

func (s *Server) apiReplyHistory(w http.ResponseWriter, r *http.Request) {
	id, rid, ok := s.threadIDs(w, r, 2)
	if !ok {
		return
	}
	edits, err := s.d.Feedback.ReplyHistory(r.Context(), me(r).ID, id, rid)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if edits == nil {
		edits = []feedback.ReplyEdit{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"edits": edits})
}

func (s *Server) apiReact(w http.ResponseWriter, r *http.Request) {
	id, rid, ok := s.threadIDs(w, r, 2)
	if !ok {
		return
	}
	var req struct {
		Reaction string `json:"reaction"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	st, err := s.d.Feedback.React(r.Context(), me(r).ID, id, rid, req.Reaction)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if st.MyReactions == nil {
		st.MyReactions = []string{}
	}
	s.writeJSON(w, http.StatusOK, st)
}

func (s *Server) apiMarkRead(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.threadIDs(w, r, 1)
	if !ok {
		return
	}
	var req struct {
		LastReplyID *int64 `json:"last_reply_id"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	if req.LastReplyID == nil {
		s.failField(w, r, http.StatusUnprocessableEntity, "last_reply_id", "Send the id of the last reply you read.")
		return
	}
	st, err := s.d.Feedback.MarkRead(r.Context(), me(r).ID, id, *req.LastReplyID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, st)
}

func (s *Server) apiResolve(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.threadIDs(w, r, 1)
	if !ok {
		return
	}
	var req struct {
		Summary string `json:"summary"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	res, err := s.d.Feedback.ProposeResolution(r.Context(), me(r).ID, id, req.Summary)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, res)
}

// ---------------------------------------------------------------------------
// View models.
// ---------------------------------------------------------------------------

func threadItem(t feedback.ThreadItem, viewer int64) components.ThreadItem {
	it := components.ThreadItem{
		ID: t.ID, Kind: t.Kind, Title: t.Title, Status: t.Status, AuthorHandle: t.Author.Handle, AuthorName: t.Author.DisplayName,
		Replies: t.Replies, Unread: t.Unread, Seen: t.Seen, AskedOfMe: t.AskedOfMe, Answered: t.Answered,
		Mine: t.Author.ID == viewer, DueAt: t.DueAt, CreatedAt: t.CreatedAt,
	}
	if t.Community != nil {
		it.CommunitySlug, it.CommunityName = t.Community.Slug, t.Community.Name
	}
	for _, p := range t.To {
		it.To = append(it.To, components.PersonLink{Handle: p.Handle, DisplayName: p.DisplayName})
	}
	return it
}

func threadItems(list []feedback.ThreadItem, viewer int64) []components.ThreadItem {
	out := make([]components.ThreadItem, 0, len(list))
	for _, t := range list {
		out = append(out, threadItem(t, viewer))
	}
	return out
}

// reactionLabels are words, not emoji: they read the same everywhere, to
// screen readers too, and need no emoji font.
var reactionLabels = map[string]string{
	"thanks": "Thanks", "agree": "Agree", "insightful": "Insightful", "question": "Question", "celebrate": "Celebrate",
}

func reactionBar(threadID, replyID int64, counts map[string]int, mine []string) components.ReactionBar {
	b := components.ReactionBar{ThreadID: threadID, ReplyID: replyID}
	for _, x := range feedback.Reactions {
		pressed := false
		for _, m := range mine {
			pressed = pressed || m == x
		}
		b.Buttons = append(b.Buttons, components.ReactionButton{Reaction: x, Label: reactionLabels[x], Count: counts[x], Pressed: pressed})
	}
	return b
}

func replyCard(rp feedback.Reply, viewer int64, open bool) components.ReplyCard {
	c := components.ReplyCard{
		ID: rp.ID, ThreadID: rp.ThreadID, Anonymous: rp.Anonymous, Body: rp.Body, CreatedAt: rp.CreatedAt,
		Edited: rp.EditedAt != nil, Mine: rp.Mine || (rp.Author != nil && rp.Author.ID == viewer), Open: open,
		Reactions: reactionBar(rp.ThreadID, rp.ID, rp.Reactions, rp.MyReactions),
	}
	if rp.Author != nil {
		c.AuthorHandle, c.AuthorName = rp.Author.Handle, rp.Author.DisplayName
	}
	if rp.Quote != nil {
		c.Quote = &components.QuoteCard{ID: rp.Quote.ID, Body: rp.Quote.Body}
		if rp.Quote.Author != nil {
			c.Quote.AuthorName = rp.Quote.Author.DisplayName
		}
	}
	return c
}

func resolveProposalItems(ps []feedback.ResolveProposal) []components.ResolveProposalItem {
	out := make([]components.ResolveProposalItem, 0, len(ps))
	for _, p := range ps {
		out = append(out, components.ResolveProposalItem{By: components.PersonLink{Handle: p.By.Handle, DisplayName: p.By.DisplayName}, Summary: p.Summary})
	}
	return out
}

func requestItems(reqs []feedback.Request) []components.RequestItem {
	out := make([]components.RequestItem, 0, len(reqs))
	for _, q := range reqs {
		out = append(out, components.RequestItem{Who: components.PersonLink{Handle: q.Node.Handle, DisplayName: q.Node.DisplayName}, Answered: q.Answered, AnsweredAt: q.AnsweredAt})
	}
	return out
}

func threadKey(id int64) string { return "thread:" + strconv.FormatInt(id, 10) }

// threadViewers names who has the thread open on any instance.
func (s *Server) threadViewers(ctx context.Context, id int64) []community.NodeRef {
	if s.d.Viewing == nil {
		return nil
	}
	refs, err := s.d.Store.NodeRefs(ctx, s.d.Viewing.Viewers(threadKey(id)))
	if err != nil {
		return nil
	}
	return refs
}

func personLinks(refs []community.NodeRef) []components.PersonLink {
	out := make([]components.PersonLink, 0, len(refs))
	for _, n := range refs {
		out = append(out, components.PersonLink{Handle: n.Handle, DisplayName: n.DisplayName})
	}
	return out
}

// feedbackRequestItems is the dashboard's "Feedback asked of you".
func (s *Server) feedbackRequestItems(ctx context.Context, node int64) []components.ThreadItem {
	list, err := s.d.Feedback.FeedbackRequests(ctx, node, 10)
	if err != nil {
		s.d.Logger.Warn("feedback requests for the dashboard", "err", err)
		return nil
	}
	return threadItems(list, node)
}

// ---------------------------------------------------------------------------
// Pages.
// ---------------------------------------------------------------------------

func (s *Server) threadsPage(w http.ResponseWriter, r *http.Request) {
	node := me(r)
	q := r.URL.Query()
	v := components.ThreadsView{Page: s.page("Feedback", "threads"), Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status")}
	load := func(f feedback.ThreadFilter) []components.ThreadItem {
		if v.Error != "" {
			return nil
		}
		f.Status, f.Limit = v.Status, 50
		list, err := s.d.Feedback.ListThreads(r.Context(), node.ID, f)
		var ve *community.ValidationError
		if errors.As(err, &ve) {
			v.Error = ve.Message
		} else if err != nil {
			v.Error = "The threads cannot be read right now. Try again in a moment."
			s.d.Logger.Error("list threads", "err", err)
		}
		return threadItems(list, node.ID)
	}
	if v.Q != "" {
		v.Results = load(feedback.ThreadFilter{Q: v.Q})
	} else {
		v.Asked = load(feedback.ThreadFilter{Scope: "asked"})
		v.Mine = load(feedback.ThreadFilter{Scope: "mine"})
		v.Community = load(feedback.ThreadFilter{Scope: "community"})
	}
	s.render(w, r, http.StatusOK, components.Threads(v))
}

func (s *Server) newThreadView(r *http.Request, form components.NewThreadForm) components.NewThreadView {
	v := components.NewThreadView{Page: s.page("Start a thread", "threads"), Form: form}
	if mine, err := s.d.Store.ListCommunities(r.Context(), me(r).ID, true, 200); err == nil {
		for _, c := range mine {
			v.Communities = append(v.Communities, components.CommunityOption{Slug: c.Slug, Name: c.Name})
		}
	}
	for _, k := range feedback.ThreadKinds {
		v.Kinds = append(v.Kinds, components.KindOption{Value: k, Label: components.KindLabel(k)})
	}
	return v
}

func (s *Server) newThreadPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	form := components.NewThreadForm{Audience: "peers", Kind: q.Get("kind"), ToHandles: q.Get("to"), Community: q.Get("community")}
	if form.Community != "" {
		form.Audience = "community"
	}
	s.render(w, r, http.StatusOK, components.NewThread(s.newThreadView(r, form)))
}

func (s *Server) newThreadForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	p := r.PostForm
	form := components.NewThreadForm{
		Audience: p.Get("audience"), Community: p.Get("community"), ToHandles: p.Get("to_handles"),
		Kind: p.Get("kind"), Title: p.Get("title"), Body: p.Get("body"), DueDate: p.Get("due"),
	}
	in := feedback.ThreadInput{ToHandles: splitHandles(form.ToHandles), Kind: form.Kind, Title: form.Title, Body: form.Body}
	if form.Audience == "community" {
		in.CommunitySlug = form.Community
	}
	due, err := parseDue(form.DueDate)
	var th feedback.Thread
	if err == nil {
		in.DueAt = due
		th, err = s.d.Feedback.CreateThread(r.Context(), me(r).ID, in)
	}
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/threads/"+strconv.FormatInt(th.ID, 10), http.StatusSeeOther)
	case errors.As(err, &ve):
		form.Errors = components.FieldErrors{ve.Field: ve.Message}
		if ve.Field == "due_at" {
			form.Errors["due"] = ve.Message
			delete(form.Errors, "due_at")
		}
		s.render(w, r, http.StatusUnprocessableEntity, components.NewThread(s.newThreadView(r, form)))
	case errors.Is(err, community.ErrForbidden):
		form.Errors = components.FieldErrors{"community_slug": "Join the community first: threads there are for its members."}
		s.render(w, r, http.StatusForbidden, components.NewThread(s.newThreadView(r, form)))
	default:
		s.failErr(w, r, err)
	}
}

// renderThread renders a thread's page for the viewer; opening it moves the
// viewer's read position to the newest reply.
func (s *Server) renderThread(w http.ResponseWriter, r *http.Request, status int, id int64, form components.ReplyForm, resolveErr string) {
	node := me(r)
	d, err := s.d.Feedback.FindThread(r.Context(), node.ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if n := len(d.Replies); n > 0 && d.Replies[n-1].ID > d.LastRead {
		if _, err := s.d.Feedback.MarkRead(r.Context(), node.ID, id, d.Replies[n-1].ID); err != nil {
			s.d.Logger.Warn("mark thread read", "thread", id, "err", err)
		}
	}
	t := d.Thread
	open := t.Status == feedback.StatusOpen
	v := components.ThreadView{
		Page: s.page(t.Title, "threads"), T: threadItem(t, node.ID), Body: t.Body, Summary: t.Summary, ResolvedAt: t.ResolvedAt,
		IsAuthor: t.Author.ID == node.ID, AnonymousAllowed: t.AnonymousAllowed, Proposals: resolveProposalItems(d.Proposals),
		ViewerHandle: node.Handle, Form: form, ResolveError: resolveErr,
	}
	for _, rp := range d.Replies {
		v.Replies = append(v.Replies, replyCard(rp, node.ID, open))
	}
	v.Requests = requestItems(d.Requests)
	quote := form.QuoteID
	if quote == 0 {
		quote, _ = strconv.ParseInt(r.URL.Query().Get("quote"), 10, 64)
	}
	for _, c := range v.Replies {
		if quote != 0 && c.ID == quote {
			v.Quote = &components.QuoteCard{ID: c.ID, AuthorName: c.AuthorName, Body: c.Body}
		}
	}
	// This page's own stream enters the presence only once it connects: name
	// the viewer now.
	viewing := s.threadViewers(r.Context(), id)
	self := true
	for _, n := range viewing {
		self = self && n.ID != node.ID
	}
	if self {
		viewing = append(viewing, community.NodeRef{ID: node.ID, Handle: node.Handle, DisplayName: node.DisplayName})
	}
	v.Viewing = personLinks(viewing)
	s.render(w, r, status, components.ThreadPage(v))
}

func (s *Server) threadPage(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.threadIDs(w, r, 1)
	if !ok {
		return
	}
	s.renderThread(w, r, http.StatusOK, id, components.ReplyForm{}, "")
}

func (s *Server) replyForm(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.threadIDs(w, r, 1)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	quote, _ := strconv.ParseInt(r.PostForm.Get("quote_id"), 10, 64)
	form := components.ReplyForm{Body: r.PostForm.Get("body"), Anonymous: r.PostForm.Get("anonymous") == "true", QuoteID: quote}
	rp, err := s.d.Feedback.Reply(r.Context(), me(r).ID, id, feedback.ReplyInput{Body: form.Body, Anonymous: form.Anonymous, QuoteID: quote})
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, fmt.Sprintf("/threads/%d#reply-%d", id, rp.ID), http.StatusSeeOther)
	case errors.As(err, &ve):
		form.Error, form.Field = ve.Message, ve.Field
		s.renderThread(w, r, http.StatusUnprocessableEntity, id, form, "")
	case errors.Is(err, community.ErrConflict):
		form.Error = "This thread was resolved meanwhile: it takes no new replies."
		s.renderThread(w, r, http.StatusConflict, id, form, "")
	default:
		s.failErr(w, r, err)
	}
}

func (s *Server) reactForm(w http.ResponseWriter, r *http.Request) {
	id, rid, ok := s.threadIDs(w, r, 2)
	if !ok {
		return
	}
	if _, err := s.d.Feedback.React(r.Context(), me(r).ID, id, rid, r.PostFormValue("reaction")); err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/threads/%d#reply-%d", id, rid), http.StatusSeeOther)
}

func (s *Server) resolveForm(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.threadIDs(w, r, 1)
	if !ok {
		return
	}
	_, err := s.d.Feedback.ProposeResolution(r.Context(), me(r).ID, id, r.PostFormValue("summary"))
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/threads/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	case errors.As(err, &ve):
		s.renderThread(w, r, http.StatusUnprocessableEntity, id, components.ReplyForm{}, ve.Message)
	case errors.Is(err, community.ErrConflict):
		s.renderThread(w, r, http.StatusConflict, id, components.ReplyForm{}, "This thread is already resolved.")
	default:
		s.failErr(w, r, err)
	}
}

func (s *Server) editReplyView(r *http.Request, thread, reply int64) (components.EditReplyView, error) {
	node := me(r)
	rp, err := s.d.Feedback.FindReply(r.Context(), node.ID, thread, reply)
	if err != nil {
		return components.EditReplyView{}, err
	}
	if !rp.Mine {
		return components.EditReplyView{}, community.ErrForbidden
	}
	edits, err := s.d.Feedback.ReplyHistory(r.Context(), node.ID, thread, reply)
	if err != nil {
		return components.EditReplyView{}, err
	}
	v := components.EditReplyView{Page: s.page("Edit reply", "threads"), Reply: replyCard(rp, node.ID, true), Body: rp.Body}
	for _, e := range edits {
		v.History = append(v.History, components.ReplyEditItem{Body: e.Body, EditedAt: e.EditedAt})
	}
	return v, nil
}

func (s *Server) editReplyPage(w http.ResponseWriter, r *http.Request) {
	id, rid, ok := s.threadIDs(w, r, 2)
	if !ok {
		return
	}
	v, err := s.editReplyView(r, id, rid)
	if errors.Is(err, community.ErrForbidden) {
		s.fail(w, r, http.StatusForbidden, "Only the author of a reply can edit it.")
		return
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, components.EditReply(v))
}

func (s *Server) editReplyForm(w http.ResponseWriter, r *http.Request) {
	id, rid, ok := s.threadIDs(w, r, 2)
	if !ok {
		return
	}
	body := r.PostFormValue("body")
	_, err := s.d.Feedback.EditReply(r.Context(), me(r).ID, id, rid, body)
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, fmt.Sprintf("/threads/%d#reply-%d", id, rid), http.StatusSeeOther)
	case errors.As(err, &ve):
		v, verr := s.editReplyView(r, id, rid)
		if verr != nil {
			s.failErr(w, r, verr)
			return
		}
		v.Body, v.Error = body, ve.Message
		s.render(w, r, http.StatusUnprocessableEntity, components.EditReply(v))
	case errors.Is(err, community.ErrConflict):
		s.fail(w, r, http.StatusConflict, "This thread is resolved: its replies can no longer be edited.")
	case errors.Is(err, community.ErrForbidden):
		s.fail(w, r, http.StatusForbidden, "Only the author of a reply can edit it.")
	default:
		s.failErr(w, r, err)
	}
}

// ---------------------------------------------------------------------------
// Live.
// ---------------------------------------------------------------------------

// writeSSEID moves the browser's last event id past an event this stream does
// not show, without dispatching anything, so a reconnect resumes after it.
func writeSSEID(w io.Writer, id string) error {
	_, err := io.WriteString(w, "id: "+id+"\n\n")
	return err
}

// threadLive is GET /threads/{id}/live: one thread's events as HTML fragments
// for htmx's SSE extension (new replies "reply", edits "reply-N", reaction
// counts "reactions-N", proposals "proposals", the resolution "resolved"), and
// every LiveInterval who is viewing it ("viewing"). The stream enters the
// cluster-wide presence while it is open. Resumable like every stream.
func (s *Server) threadLive(w http.ResponseWriter, r *http.Request) {
	id, _, ok := s.threadIDs(w, r, 1)
	if !ok {
		return
	}
	node := me(r)
	if err := s.d.Feedback.CanReadThread(r.Context(), node.ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	if s.d.Viewing != nil {
		leave := s.d.Viewing.Enter(threadKey(id), node.ID)
		defer leave()
	}

	// Fragments are rendered per viewer from fresh reads (own reactions,
	// marking replies read), so this stream is written by its own goroutine.
	write := func(w io.Writer, r *http.Request, ev *liveEvent) error {
		seq := strconv.FormatUint(ev.Seq, 10)
		if !strings.HasPrefix(ev.Event.Type, "thread.") {
			return writeSSEID(w, seq)
		}
		var probe struct {
			ID       int64 `json:"id"`
			ThreadID int64 `json:"thread_id"`
			ReplyID  int64 `json:"reply_id"` // thread.reaction
		}
		_ = json.Unmarshal(ev.Event.Object, &probe)
		var buf bytes.Buffer
		switch ev.Event.Type {
		case "thread.reply", "thread.reply_edited":
			var rp feedback.Reply
			if json.Unmarshal(ev.Event.Object, &rp) != nil || rp.ThreadID != id {
				break
			}
			if err := components.ReplyItem(replyCard(rp, node.ID, true)).Render(r.Context(), &buf); err != nil {
				return err
			}
			if ev.Event.Type == "thread.reply_edited" {
				return writeSSE(w, seq, "reply-"+strconv.FormatInt(rp.ID, 10), buf.String())
			}
			if _, err := s.d.Feedback.MarkRead(r.Context(), node.ID, id, rp.ID); err != nil {
				s.d.Logger.Debug("mark thread read from its stream", "err", err) // seen on screen: read
			}
			// The author's "who has answered" may have changed.
			if reqs, err := s.d.Feedback.ThreadRequests(r.Context(), node.ID, id); err == nil && len(reqs) > 0 {
				var list bytes.Buffer
				if err := components.RequestList(requestItems(reqs)).Render(r.Context(), &list); err != nil {
					return err
				}
				if err := writeSSE(w, "", "requests", list.String()); err != nil {
					return err
				}
			}
			return writeSSE(w, seq, "reply", buf.String())
		case "thread.reaction":
			if probe.ThreadID != id {
				break
			}
			st, err := s.d.Feedback.ReactionsOf(r.Context(), node.ID, id, probe.ReplyID)
			if err != nil {
				break // gone, or no longer readable
			}
			if err := components.Reactions(reactionBar(id, probe.ReplyID, st.Reactions, st.MyReactions)).Render(r.Context(), &buf); err != nil {
				return err
			}
			return writeSSE(w, seq, "reactions-"+strconv.FormatInt(probe.ReplyID, 10), buf.String())
		case "thread.resolve_proposed":
			if probe.ThreadID != id {
				break
			}
			d, err := s.d.Feedback.FindThread(r.Context(), node.ID, id)
			if err != nil {
				break
			}
			if err := components.ResolveProposalList(resolveProposalItems(d.Proposals)).Render(r.Context(), &buf); err != nil {
				return err
			}
			return writeSSE(w, seq, "proposals", buf.String())
		case "thread.resolved":
			var th feedback.Thread
			if json.Unmarshal(ev.Event.Object, &th) != nil || th.ID != id {
				break
			}
			if err := components.ResolvedFragment(th.Summary).Render(r.Context(), &buf); err != nil {
				return err
			}
			return writeSSE(w, seq, "resolved", buf.String())
		}
		return writeSSEID(w, seq)
	}
	viewing := &ticker{every: s.d.LiveInterval, fn: func(w io.Writer, r *http.Request) error {
		var buf bytes.Buffer
		if err := components.ViewingList(personLinks(s.threadViewers(r.Context(), id)), node.Handle).Render(r.Context(), &buf); err != nil {
			return err
		}
		return writeSSE(w, "", "viewing", buf.String())
	}}
	s.streamEvents(w, r, streamSpec{write: write, tick: viewing})
}

// writeFeedbackNotice renders thread.requested and thread.reminder on the
// dashboard's stream: a notice, and for a new request the item for "Feedback
// asked of you". viewer is whom it is rendered for (0: anyone but the
// thread's author).
func writeFeedbackNotice(ctx context.Context, w io.Writer, id string, ev *liveEvent, viewer int64) error {
	var n feedback.RequestNotice
	if err := json.Unmarshal(ev.Event.Object, &n); err != nil {
		return writeSSEID(w, id)
	}
	var buf bytes.Buffer
	if ev.Event.Type == "thread.requested" {
		item := threadItem(feedback.ThreadItem{Thread: n.Thread, AskedOfMe: true}, viewer)
		if err := components.FeedbackRequestItem(item).Render(ctx, &buf); err != nil {
			return err
		}
		if err := writeSSE(w, "", "feedback-request", buf.String()); err != nil {
			return err
		}
		buf.Reset()
	}
	nv := components.FeedbackNoticeView{
		ThreadID: n.Thread.ID, Title: n.Thread.Title, Reminder: ev.Event.Type == "thread.reminder",
		From: components.PersonLink{Handle: n.Thread.Author.Handle, DisplayName: n.Thread.Author.DisplayName},
	}
	if err := components.FeedbackNotice(nv).Render(ctx, &buf); err != nil {
		return err
	}
	return writeSSE(w, id, "notice", buf.String())
}
