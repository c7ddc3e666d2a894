package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// mountProposals registers shared decisions: the JSON API, the pages and the
// proposal page's live stream.
func (s *Server) mountProposals(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Get("/api/v1/proposals", s.apiListProposals)
		r.Post("/api/v1/proposals", s.apiCreateProposal)
		r.Get("/api/v1/proposals/{id}", s.apiGetProposal)
		r.Post("/api/v1/proposals/{id}/votes", s.apiVoteProposal)
		r.Post("/api/v1/proposals/{id}/outcome", s.apiProposalOutcome)

		r.Get("/proposals", s.proposalsPage)
		r.Get("/proposals/new", s.newProposalPage)
		r.Post("/proposals", s.createProposalForm)
		r.Get("/proposals/{id}", s.proposalPage)
		r.Post("/proposals/{id}/vote", s.proposalVoteForm)
		r.Post("/proposals/{id}/outcome", s.proposalStatementForm)
	})
}

// proposalPathID parses {id}; a malformed one is a 404 (no such proposal).
func (s *Server) proposalPathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	return s.idParam(w, r, "id", "proposal")
}

// ---------------------------------------------------------------------------
// JSON API
// ---------------------------------------------------------------------------

type proposalRequest struct {
	CommunitySlug string   `json:"community_slug"`
	Title         string   `json:"title"`
	Body          string   `json:"body"`
	Process       string   `json:"process"`
	Options       []string `json:"options"`
	Multiple      bool     `json:"multiple"`
	ClosesAt      string   `json:"closes_at"` // RFC 3339
	Quorum        *int     `json:"quorum"`
	HiddenResults bool     `json:"hidden_results"`
}

// parseClosesAt reads an RFC 3339 time, or (from the form's datetime-local) a
// minute or second in UTC. Empty is the zero time, which the store refuses
// with its own message.
func parseClosesAt(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, true
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

const closesAtHelp = "Give the closing time as RFC 3339, e.g. 2026-12-01T17:00:00Z."

func (s *Server) apiCreateProposal(w http.ResponseWriter, r *http.Request) {
	var req proposalRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	closesAt, ok := parseClosesAt(req.ClosesAt)
	if !ok {
		s.failField(w, r, http.StatusUnprocessableEntity, "closes_at", closesAtHelp)
		return
	}
	p, err := s.d.Feedback.CreateProposal(r.Context(), me(r).ID, feedback.ProposalInput{
		CommunitySlug: req.CommunitySlug, Title: req.Title, Body: req.Body, Process: req.Process, Options: req.Options,
		Multiple: req.Multiple, ClosesAt: closesAt, Quorum: req.Quorum, HiddenResults: req.HiddenResults,
	})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, p)
}

func (s *Server) apiGetProposal(w http.ResponseWriter, r *http.Request) {
	id, ok := s.proposalPathID(w, r)
	if !ok {
		return
	}
	p, err := s.d.Feedback.FindProposal(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

func (s *Server) apiListProposals(w http.ResponseWriter, r *http.Request) {
	filter, err := parseProposalFilter(r.URL.Query()) // web/params.go
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	limit := filter.Limit
	list, err := s.d.Feedback.ListProposals(r.Context(), me(r).ID, filter)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	resp := map[string]any{"proposals": list}
	if len(list) == int(limit) {
		resp["next_before"] = list[len(list)-1].ID
	}
	s.writeJSON(w, http.StatusOK, resp)
}

func (s *Server) apiVoteProposal(w http.ResponseWriter, r *http.Request) {
	id, ok := s.proposalPathID(w, r)
	if !ok {
		return
	}
	var req struct {
		Position string `json:"position"`
		Choices  []int  `json:"choices"`
		Scores   []int  `json:"scores"`
		Reason   string `json:"reason"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	p, err := s.d.Feedback.CastVote(r.Context(), me(r).ID, id, feedback.VoteInput{
		Position: req.Position, Choices: req.Choices, Scores: req.Scores, Reason: req.Reason,
	})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

func (s *Server) apiProposalOutcome(w http.ResponseWriter, r *http.Request) {
	id, ok := s.proposalPathID(w, r)
	if !ok {
		return
	}
	var req struct {
		Statement string `json:"statement"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	p, err := s.d.Feedback.WriteOutcomeStatement(r.Context(), me(r).ID, id, req.Statement)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

func decisionItems(list []feedback.ProposalSummary) []components.DecisionItem {
	out := make([]components.DecisionItem, 0, len(list))
	for _, p := range list {
		out = append(out, components.DecisionItem{
			ID: p.ID, Title: p.Title, Process: p.Process, Status: p.Status, Outcome: p.Outcome,
			CommunitySlug: p.Community.Slug, CommunityName: p.Community.Name,
			AuthorHandle: p.Author.Handle, AuthorName: p.Author.DisplayName,
			ClosesAt: p.ClosesAt, Votes: p.Votes, Voted: p.Voted,
		})
	}
	return out
}

// communityProposals is the "Decisions" section of a community page. It is
// secondary on that page: a failure is logged and shows as an empty list.
func (s *Server) communityDecisions(r *http.Request, c community.Community) components.CommunityDecisions {
	v := components.CommunityDecisions{Slug: c.Slug, IsMember: c.IsMember, Now: time.Now()}
	list, err := s.d.Feedback.ListProposals(r.Context(), me(r).ID, feedback.ProposalFilter{Community: c.Slug, Limit: 10})
	if err != nil {
		s.d.Logger.Error("community proposals", "community", c.Slug, "err", err)
		return v
	}
	v.Items = decisionItems(list)
	return v
}

func (s *Server) proposalsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	before, err := parseCount("before", q.Get("before"), 0, 0)
	if err != nil {
		s.failParam(w, r, err)
		return
	}
	status := q.Get("status")
	if status != feedback.ProposalOpen && status != feedback.ProposalClosed {
		status = ""
	}
	const limit = 30
	list, err := s.d.Feedback.ListProposals(r.Context(), me(r).ID, feedback.ProposalFilter{Status: status, Before: before, Limit: limit})
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.DecisionsView{Page: s.page("Decisions", "decisions"), Items: decisionItems(list), Status: status, Now: time.Now()}
	if len(list) == limit {
		next := url.Values{"before": {strconv.FormatInt(list[len(list)-1].ID, 10)}}
		if status != "" {
			next.Set("status", status)
		}
		v.OlderURL = "/proposals?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, components.Decisions(v))
}

// proposalFormPage renders the new-proposal form with the viewer's communities.
func (s *Server) proposalFormPage(w http.ResponseWriter, r *http.Request, status int, form components.DecisionForm) {
	mine, err := s.d.Store.ListCommunities(r.Context(), me(r).ID, true, 200)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	for _, c := range mine {
		form.Communities = append(form.Communities, components.CommunityOption{Slug: c.Slug, Name: c.Name})
	}
	s.render(w, r, status, components.NewDecision(components.DecisionFormView{Page: s.page("Put a proposal", "decisions"), Form: form}))
}

func (s *Server) newProposalPage(w http.ResponseWriter, r *http.Request) {
	s.proposalFormPage(w, r, http.StatusOK, components.DecisionForm{
		Community: r.URL.Query().Get("community"),
		Process:   feedback.ProcessConsent,
		ClosesAt:  time.Now().UTC().Add(72 * time.Hour).Format("2006-01-02T15:04"),
	})
}

func (s *Server) createProposalForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	f := r.PostForm
	form := components.DecisionForm{
		Community: f.Get("community_slug"), Title: f.Get("title"), Body: f.Get("body"), Process: f.Get("process"),
		Options: f.Get("options"), Multiple: f.Get("multiple") == "true", ClosesAt: f.Get("closes_at"),
		Quorum: f.Get("quorum"), HiddenResults: f.Get("hidden_results") == "true",
	}
	in := feedback.ProposalInput{
		CommunitySlug: form.Community, Title: form.Title, Body: form.Body, Process: form.Process,
		Multiple: form.Multiple, HiddenResults: form.HiddenResults,
	}
	// The options box is for poll and score; for consent it is ignored, so a
	// change of mind about the process does not need the box emptied.
	if form.Process != feedback.ProcessConsent {
		for _, line := range strings.Split(form.Options, "\n") {
			if line = strings.TrimSpace(line); line != "" {
				in.Options = append(in.Options, line)
			}
		}
	}
	var ok bool
	if in.ClosesAt, ok = parseClosesAt(form.ClosesAt); !ok {
		form.Errors = components.FieldErrors{"closes_at": "Choose a date and time."}
		s.proposalFormPage(w, r, http.StatusUnprocessableEntity, form)
		return
	}
	if q := strings.TrimSpace(form.Quorum); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil {
			form.Errors = components.FieldErrors{"quorum": "A quorum is a whole number of votes, or empty for none."}
			s.proposalFormPage(w, r, http.StatusUnprocessableEntity, form)
			return
		}
		in.Quorum = &n
	}
	p, err := s.d.Feedback.CreateProposal(r.Context(), me(r).ID, in)
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/proposals/"+strconv.FormatInt(p.ID, 10), http.StatusSeeOther)
	case errors.As(err, &ve):
		form.Errors = components.FieldErrors{ve.Field: ve.Message}
		s.proposalFormPage(w, r, http.StatusUnprocessableEntity, form)
	case errors.Is(err, community.ErrForbidden):
		form.Errors = components.FieldErrors{"community_slug": "Only members put proposals to a community: join it first."}
		s.proposalFormPage(w, r, http.StatusForbidden, form)
	default:
		s.failErr(w, r, err)
	}
}

// proposalDetail is the page's view of a proposal.
func proposalDetail(p feedback.Proposal, now time.Time) components.DecisionDetail {
	d := components.DecisionDetail{
		ID: p.ID, Title: p.Title, Body: p.Body, Process: p.Process, Multiple: p.Multiple, HiddenResults: p.HiddenResults,
		CommunitySlug: p.Community.Slug, CommunityName: p.Community.Name,
		Author:   components.PersonLink{Handle: p.Author.Handle, DisplayName: p.Author.DisplayName},
		ClosesAt: p.ClosesAt, CreatedAt: p.CreatedAt, ClosedAt: p.ClosedAt,
		Status: p.Status, Outcome: p.Outcome, Statement: p.OutcomeStatement,
		Members: p.Members, Votes: p.Votes, Quorum: p.Quorum, QuorumMet: p.QuorumProgress.Met,
		ResultsHidden: p.ResultsHidden, Winners: p.Winners,
		IsMember: p.IsMember, CanVote: p.CanVote, CanState: p.CanState, Voted: p.MyVote != nil, Now: now,
	}
	for _, n := range p.NotVoted {
		d.NotVoted = append(d.NotVoted, components.PersonLink{Handle: n.Handle, DisplayName: n.DisplayName})
	}
	for _, b := range p.Blocks {
		d.Blocks = append(d.Blocks, components.DecisionObjection{Who: components.PersonLink{Handle: b.Node.Handle, DisplayName: b.Node.DisplayName}, Reason: b.Reason})
	}
	for _, b := range p.Disagreements {
		d.Disagreements = append(d.Disagreements, components.DecisionObjection{Who: components.PersonLink{Handle: b.Node.Handle, DisplayName: b.Node.DisplayName}, Reason: b.Reason})
	}
	var my feedback.Vote
	if p.MyVote != nil {
		my = *p.MyVote
		d.MyPosition, d.MyReason = my.Position, my.Reason
	}
	if p.Process == feedback.ProcessConsent {
		for _, pos := range []string{feedback.PositionAgree, feedback.PositionAbstain, feedback.PositionDisagree, feedback.PositionBlock} {
			c := components.DecisionPosition{Position: pos, Mine: my.Position == pos}
			if p.Tally != nil {
				c.Count = p.Tally.Positions[pos]
			}
			d.Positions = append(d.Positions, c)
		}
		return d
	}
	leading := map[int]bool{}
	top := 0.0
	if p.Tally != nil {
		for _, i := range p.Tally.Leading {
			leading[i] = true
		}
		for _, o := range p.Tally.Options {
			if o.Mean != nil {
				top = max(top, *o.Mean)
			}
		}
	}
	for i, text := range p.Options {
		o := components.DecisionOption{Index: i, Option: text}
		for _, c := range my.Choices {
			if c == i {
				o.Mine = true
			}
		}
		if i < len(my.Scores) {
			sc := my.Scores[i]
			o.MyScore = &sc
		}
		if p.Tally != nil && i < len(p.Tally.Options) {
			t := p.Tally.Options[i]
			o.Count, o.Leading = t.Count, leading[i]
			switch {
			case t.Mean != nil:
				o.Mean = *t.Mean
				if top > 0 {
					o.Percent = int(100 * o.Mean / top)
				}
			case p.Votes > 0:
				o.Percent = 100 * t.Count / p.Votes
			}
		}
		d.Options = append(d.Options, o)
	}
	return d
}

func (s *Server) proposalView(p feedback.Proposal) components.DecisionPageView {
	return components.DecisionPageView{Page: s.page(p.Title, "decisions"), P: proposalDetail(p, time.Now())}
}

func (s *Server) proposalPage(w http.ResponseWriter, r *http.Request) {
	id, ok := s.proposalPathID(w, r)
	if !ok {
		return
	}
	p, err := s.d.Feedback.FindProposal(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, components.DecisionPage(s.proposalView(p)))
}

// proposalVoteInput reads the vote form: a position, choice fields (one, or
// several checkboxes) or score-<i> fields, and a reason.
func proposalVoteInput(r *http.Request, p feedback.Proposal) (feedback.VoteInput, string) {
	f := r.PostForm
	in := feedback.VoteInput{Position: f.Get("position"), Reason: f.Get("reason")}
	switch p.Process {
	case feedback.ProcessPoll:
		for _, c := range f["choice"] {
			n, err := strconv.Atoi(c)
			if err != nil {
				return in, "choices"
			}
			in.Choices = append(in.Choices, n)
		}
	case feedback.ProcessScore:
		for i := range p.Options {
			n, err := strconv.Atoi(strings.TrimSpace(f.Get("score-" + strconv.Itoa(i))))
			if err != nil {
				return in, "scores"
			}
			in.Scores = append(in.Scores, n)
		}
	}
	return in, ""
}

func (s *Server) proposalVoteForm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.proposalPathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	p, err := s.d.Feedback.FindProposal(r.Context(), me(r).ID, id)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	in, bad := proposalVoteInput(r, p)
	if bad == "" {
		_, err = s.d.Feedback.CastVote(r.Context(), me(r).ID, id, in)
		if err == nil {
			http.Redirect(w, r, "/proposals/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
			return
		}
	}
	// Show the page again with the error next to the form (the proposal as it
	// is now: it may have closed meanwhile).
	status, field, msg := http.StatusUnprocessableEntity, bad, "Give every option a whole number from 0 to 10."
	if bad == "choices" {
		msg = "Choose among the options."
	}
	var ve *community.ValidationError
	switch {
	case err == nil:
	case errors.As(err, &ve):
		field, msg = ve.Field, ve.Message
	case errors.Is(err, community.ErrConflict):
		status, field, msg = http.StatusConflict, "status", err.Error()
	default:
		s.failErr(w, r, err)
		return
	}
	if p, err = s.d.Feedback.FindProposal(r.Context(), me(r).ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	v := s.proposalView(p)
	v.VoteErrors = components.FieldErrors{field: msg}
	s.render(w, r, status, components.DecisionPage(v))
}

func (s *Server) proposalStatementForm(w http.ResponseWriter, r *http.Request) {
	id, ok := s.proposalPathID(w, r)
	if !ok {
		return
	}
	statement := r.PostFormValue("statement")
	_, err := s.d.Feedback.WriteOutcomeStatement(r.Context(), me(r).ID, id, statement)
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/proposals/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
		return
	case errors.As(err, &ve), errors.Is(err, community.ErrConflict):
		p, ferr := s.d.Feedback.FindProposal(r.Context(), me(r).ID, id)
		if ferr != nil {
			s.failErr(w, r, ferr)
			return
		}
		v := s.proposalView(p)
		status := http.StatusConflict
		if ve != nil {
			status = http.StatusUnprocessableEntity
			v.StatementErrors = components.FieldErrors{"statement": ve.Message}
			v.StatementDraft = statement
		} else {
			v.VoteErrors = components.FieldErrors{"status": err.Error()}
		}
		s.render(w, r, status, components.DecisionPage(v))
	default:
		s.failErr(w, r, err)
	}
}

// ---------------------------------------------------------------------------
// Live
// ---------------------------------------------------------------------------

// proposalEventTypes are the events that change a proposal page.
var proposalEventTypes = map[string]bool{"proposal.vote": true, "proposal.closed": true, "proposal.outcome": true}

// proposalLive streams one proposal page's updates as fragments for htmx's
// SSE extension: "results" (tallies, participation, outcome) on every vote,
// outcome statement and the close, and "act" (the vote form becomes the
// statement form) at the close. Fragments are rendered from a fresh read for
// the viewer, so hidden results stay hidden and one's own vote shows. Every
// 30 s (and on connecting) the results are re-rendered to keep the countdown
// current.
func (s *Server) proposalLive(w http.ResponseWriter, r *http.Request) {
	id, ok := s.proposalPathID(w, r)
	if !ok {
		return
	}
	node := me(r)
	if _, err := s.d.Feedback.FindProposal(r.Context(), node.ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}

	render := func(w io.Writer, r *http.Request, eventID string, closed bool) error {
		p, err := s.d.Feedback.FindProposal(r.Context(), node.ID, id)
		if err != nil {
			return err // gone or unreadable: end the stream; the browser reconnects
		}
		v := s.proposalView(p)
		var buf bytes.Buffer
		if closed {
			if err := components.DecisionAct(v).Render(r.Context(), &buf); err != nil {
				return err
			}
			if err := writeSSE(w, "", "act", buf.String()); err != nil {
				return err
			}
			buf.Reset()
		}
		if err := components.DecisionResults(v.P).Render(r.Context(), &buf); err != nil {
			return err
		}
		return writeSSE(w, eventID, "results", buf.String())
	}
	// Rendered per viewer from a fresh read (hidden results, one's own vote),
	// so this stream is written by its own goroutine.
	write := func(w io.Writer, r *http.Request, ev *liveEvent) error {
		eventID := strconv.FormatUint(ev.Seq, 10)
		if proposalEventTypes[ev.Event.Type] {
			var obj struct {
				ProposalID int64 `json:"proposal_id"`
			}
			if json.Unmarshal(ev.Event.Object, &obj) == nil && obj.ProposalID == id {
				return render(w, r, eventID, ev.Event.Type == "proposal.closed")
			}
		}
		// Keep the id moving so a reconnect resumes after it.
		return writeSSE(w, eventID, "skip", "")
	}
	refresh := &ticker{every: 30 * time.Second, fn: func(w io.Writer, r *http.Request) error {
		return render(w, r, "", false)
	}}
	s.streamEvents(w, r, streamSpec{write: write, tick: refresh})
}
