package feedback

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// propFixture is a fresh database with a feedback store whose published
// events are recorded, for the proposal tests.
type propFixture struct {
	t    *testing.T
	ctx  context.Context
	pool *pgxpool.Pool
	net  *community.Store
	fb   *Store
	pub  *recordingPublisher
}

func newPropFixture(t *testing.T) *propFixture {
	t.Helper()
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	net := community.NewStore(pool)
	f := &propFixture{t: t, ctx: context.Background(), pool: pool, net: net, fb: NewStore(pool, net), pub: &recordingPublisher{}}
	net.SetPublisher(f.pub, nil)
	return f
}

func (f *propFixture) node(handle string) int64 {
	f.t.Helper()
	var id int64
	err := f.pool.QueryRow(f.ctx, `INSERT INTO nodes (handle, display_name, email) VALUES ($1, $2, $3) RETURNING id`,
		handle, strings.ToUpper(handle[:1])+handle[1:], handle+"@example.test").Scan(&id)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// community makes a community with the given members.
func (f *propFixture) community(slug string, open bool, members ...int64) int64 {
	f.t.Helper()
	var id int64
	if err := f.pool.QueryRow(f.ctx, `INSERT INTO communities (slug, name, open, created_by) VALUES ($1, $1, $2, $3) RETURNING id`,
		slug, open, members[0]).Scan(&id); err != nil {
		f.t.Fatal(err)
	}
	for _, m := range members {
		if _, err := f.pool.Exec(f.ctx, `INSERT INTO community_members (community_id, node_id) VALUES ($1, $2)`, id, m); err != nil {
			f.t.Fatal(err)
		}
	}
	return id
}

func (f *propFixture) propose(author int64, in ProposalInput) Proposal {
	f.t.Helper()
	if in.ClosesAt.IsZero() {
		in.ClosesAt = time.Now().Add(time.Hour)
	}
	if in.Title == "" {
		in.Title = "A proposal"
	}
	p, err := f.fb.CreateProposal(f.ctx, author, in)
	if err != nil {
		f.t.Fatalf("create proposal: %v", err)
	}
	return p
}

func (f *propFixture) vote(node, id int64, in VoteInput) Proposal {
	f.t.Helper()
	p, err := f.fb.CastVote(f.ctx, node, id, in)
	if err != nil {
		f.t.Fatalf("vote: %v", err)
	}
	return p
}

// expire moves a proposal's closing time into the past, as if time had passed.
func (f *propFixture) expire(id int64) {
	f.t.Helper()
	if _, err := f.pool.Exec(f.ctx, `UPDATE proposals SET closes_at = now() - interval '1 second' WHERE id = $1`, id); err != nil {
		f.t.Fatal(err)
	}
}

// closedEvents counts the proposal.closed events of a proposal in the outbox.
func (f *propFixture) closedEvents(id int64) int {
	f.t.Helper()
	var n int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM events WHERE type = 'proposal.closed' AND (payload->>'proposal_id')::bigint = $1`, id).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *propFixture) find(viewer, id int64) Proposal {
	f.t.Helper()
	p, err := f.fb.FindProposal(f.ctx, viewer, id)
	if err != nil {
		f.t.Fatalf("find proposal: %v", err)
	}
	return p
}

func propInt(n int) *int { return &n }

func TestCreateProposal(t *testing.T) {
	f := newPropFixture(t)
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")
	f.community("platform", true, ana, ben)
	f.community("hiring", false, ana)
	soon := time.Now().Add(time.Hour)

	invalid := []struct {
		name  string
		in    ProposalInput
		field string
	}{
		{"no community", ProposalInput{Title: "T", Process: "consent", ClosesAt: soon}, "community_slug"},
		{"unknown community", ProposalInput{CommunitySlug: "nowhere", Title: "T", Process: "consent", ClosesAt: soon}, "community_slug"},
		{"no title", ProposalInput{CommunitySlug: "platform", Title: "  ", Process: "consent", ClosesAt: soon}, "title"},
		{"title too long", ProposalInput{CommunitySlug: "platform", Title: strings.Repeat("x", 201), Process: "consent", ClosesAt: soon}, "title"},
		{"body too long", ProposalInput{CommunitySlug: "platform", Title: "T", Body: strings.Repeat("x", 10001), Process: "consent", ClosesAt: soon}, "body"},
		{"unknown process", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "vote", ClosesAt: soon}, "process"},
		{"consent with options", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "consent", Options: []string{"a", "b"}, ClosesAt: soon}, "options"},
		{"poll with one option", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "poll", Options: []string{"a"}, ClosesAt: soon}, "options"},
		{"poll with 21 options", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "poll", Options: strings.Split("abcdefghijklmnopqrstu", ""), ClosesAt: soon}, "options"},
		{"score with an empty option", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "score", Options: []string{"a", " "}, ClosesAt: soon}, "options"},
		{"poll with a duplicate option", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "poll", Options: []string{"Tea", "tea"}, ClosesAt: soon}, "options"},
		{"multiple on a score", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "score", Options: []string{"a", "b"}, Multiple: true, ClosesAt: soon}, "multiple"},
		{"no closing time", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "consent"}, "closes_at"},
		{"closing in the past", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "consent", ClosesAt: time.Now().Add(-time.Minute)}, "closes_at"},
		{"closing after a year", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "consent", ClosesAt: time.Now().AddDate(1, 0, 1)}, "closes_at"},
		{"quorum of zero", ProposalInput{CommunitySlug: "platform", Title: "T", Process: "consent", ClosesAt: soon, Quorum: propInt(0)}, "quorum"},
		{"invite-only community of others", ProposalInput{CommunitySlug: "hiring", Title: "T", Process: "consent", ClosesAt: soon}, "community_slug"},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.fb.CreateProposal(f.ctx, ben, c.in)
			wantField(t, err, c.field)
		})
	}
	t.Run("a non-member of an open community may not propose", func(t *testing.T) {
		_, err := f.fb.CreateProposal(f.ctx, cleo, ProposalInput{CommunitySlug: "platform", Title: "T", Process: "consent", ClosesAt: soon})
		wantErr(t, err, community.ErrForbidden)
	})
	t.Run("nothing was written by the refused ones", func(t *testing.T) {
		var n int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM proposals`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d proposals (%v), want 0", n, err)
		}
	})
	t.Run("a poll is created and announced to readers", func(t *testing.T) {
		f.pub.take("")
		p := f.propose(ana, ProposalInput{CommunitySlug: "Platform", Title: " Lunch place ", Process: "Poll", Options: []string{" Deli", "Noodles "}, Multiple: true, Quorum: propInt(2)})
		if p.Title != "Lunch place" || p.Process != ProcessPoll || !slices.Equal(p.Options, []string{"Deli", "Noodles"}) || !p.Multiple {
			t.Errorf("proposal %+v, want the normalised input", p)
		}
		if p.Status != ProposalOpen || p.Outcome != "" || p.Members != 2 || p.Votes != 0 || !p.CanVote {
			t.Errorf("status %s outcome %q members %d votes %d can vote %v, want open with 2 members", p.Status, p.Outcome, p.Members, p.Votes, p.CanVote)
		}
		if len(p.NotVoted) != 2 || p.QuorumProgress.Met || *p.QuorumProgress.Required != 2 {
			t.Errorf("not voted %v quorum %+v", p.NotVoted, p.QuorumProgress)
		}
		evs := f.pub.take("proposal.created")
		if len(evs) != 1 || !evs[0].ToAll {
			t.Errorf("created events %+v, want one to all (open community)", evs)
		}
	})
	t.Run("an invite-only proposal is announced to members only", func(t *testing.T) {
		f.pub.take("")
		f.propose(ana, ProposalInput{CommunitySlug: "hiring", Process: "consent"})
		evs := f.pub.take("proposal.created")
		if len(evs) != 1 || evs[0].ToAll || !slices.Equal(evs[0].To, []int64{ana}) {
			t.Errorf("created events %+v, want one to ana only", evs)
		}
	})
}

func TestConsentProposal(t *testing.T) {
	f := newPropFixture(t)
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	f.community("platform", true, ana, ben, cleo)
	p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Title: "Adopt Go 1.26", Process: "consent"})

	t.Run("a reason is required to disagree or block", func(t *testing.T) {
		_, err := f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Position: "block"})
		wantField(t, err, "reason")
		_, err = f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Position: "disagree"})
		wantField(t, err, "reason")
	})
	t.Run("a consent vote takes no choices", func(t *testing.T) {
		_, err := f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Position: "agree", Choices: []int{0}})
		wantField(t, err, "choices")
	})
	t.Run("a non-member may not vote", func(t *testing.T) {
		_, err := f.fb.CastVote(f.ctx, dan, p.ID, VoteInput{Position: "agree"})
		wantErr(t, err, community.ErrForbidden)
	})
	t.Run("an unknown proposal", func(t *testing.T) {
		_, err := f.fb.CastVote(f.ctx, ben, p.ID+100, VoteInput{Position: "agree"})
		wantErr(t, err, community.ErrNotFound)
	})
	t.Run("votes are counted live and sent to members", func(t *testing.T) {
		f.pub.take("")
		got := f.vote(ben, p.ID, VoteInput{Position: "agree"})
		if got.Votes != 1 || got.Tally.Positions["agree"] != 1 || got.MyVote == nil || got.MyVote.Position != "agree" {
			t.Errorf("after ben's vote: %+v", got)
		}
		evs := f.pub.take("proposal.vote")
		if len(evs) != 1 || evs[0].ToAll || !slices.Equal(evs[0].To, []int64{ana, ben, cleo}) {
			t.Fatalf("vote events %+v, want one to the three members", evs)
		}
		var obj proposalVoted
		if err := json.Unmarshal(evs[0].Object, &obj); err != nil || obj.Tally == nil || obj.Tally.Positions["agree"] != 1 || obj.Voter != "ben" {
			t.Errorf("vote event object %s (%v), want the tally and the voter", evs[0].Object, err)
		}
		if names := refHandles(got.NotVoted); !slices.Equal(names, []string{"ana", "cleo"}) {
			t.Errorf("not voted %v, want ana and cleo", names)
		}
	})
	t.Run("changing a vote replaces it and is one interaction", func(t *testing.T) {
		got := f.vote(ben, p.ID, VoteInput{Position: "disagree", Reason: "the CI image is not ready"})
		if got.Votes != 1 || got.Tally.Positions["agree"] != 0 || got.Tally.Positions["disagree"] != 1 {
			t.Errorf("tally %+v, want ben's vote changed to disagree", got.Tally)
		}
		if len(got.Disagreements) != 1 || got.Disagreements[0].Reason != "the CI image is not ready" {
			t.Errorf("disagreements %+v", got.Disagreements)
		}
		var n int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM interactions WHERE from_node = $1 AND to_node = $2 AND kind = 'vote' AND ref = $3`,
			ben, ana, proposalRef(p.ID)).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d vote interactions ben→ana (%v), want 1", n, err)
		}
	})
	t.Run("voting on one's own proposal is no interaction", func(t *testing.T) {
		f.vote(ana, p.ID, VoteInput{Position: "agree"})
		var n int
		if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM interactions WHERE from_node = $1`, ana).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d interactions from ana (%v), want 0", n, err)
		}
	})
	t.Run("a block fails consent, with its reason shown", func(t *testing.T) {
		f.vote(cleo, p.ID, VoteInput{Position: "block", Reason: "breaks the release train"})
		f.expire(p.ID)
		got := f.find(ben, p.ID)
		if got.Status != ProposalClosed || got.Outcome != OutcomeFailed {
			t.Fatalf("status %s outcome %s, want closed and failed", got.Status, got.Outcome)
		}
		if len(got.Blocks) != 1 || got.Blocks[0].Node.Handle != "cleo" || got.Blocks[0].Reason != "breaks the release train" {
			t.Errorf("blocks %+v, want cleo's with her reason", got.Blocks)
		}
		if got.CanVote || !got.CanState {
			t.Errorf("can vote %v can write statement %v, want false, true", got.CanVote, got.CanState)
		}
	})
	t.Run("a vote after close is a conflict", func(t *testing.T) {
		_, err := f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Position: "agree"})
		wantErr(t, err, community.ErrConflict)
		if community.ConflictField(err) != "status" {
			t.Errorf("conflict field %q, want status", community.ConflictField(err))
		}
	})

	t.Run("consent without a block passes over disagreement", func(t *testing.T) {
		q := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "consent"})
		f.vote(ben, q.ID, VoteInput{Position: "disagree", Reason: "meh"})
		f.vote(cleo, q.ID, VoteInput{Position: "abstain"})
		f.expire(q.ID)
		if got := f.find(ana, q.ID); got.Outcome != OutcomePassed || len(got.Blocks) != 0 {
			t.Errorf("outcome %s blocks %v, want passed without blocks", got.Outcome, got.Blocks)
		}
	})
}

func refHandles(refs []community.NodeRef) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Handle)
	}
	slices.Sort(out)
	return out
}

func TestPollAndScoreProposals(t *testing.T) {
	f := newPropFixture(t)
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")
	f.community("platform", true, ana, ben, cleo)

	t.Run("a single-choice poll", func(t *testing.T) {
		p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "poll", Options: []string{"Deli", "Noodles", "Tacos"}})
		_, err := f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Choices: []int{0, 1}})
		wantField(t, err, "choices")
		_, err = f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Choices: []int{3}})
		wantField(t, err, "choices")
		_, err = f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Position: "agree"})
		wantField(t, err, "position")
		f.vote(ana, p.ID, VoteInput{Choices: []int{1}})
		f.vote(ben, p.ID, VoteInput{Choices: []int{2}})
		got := f.vote(ben, p.ID, VoteInput{Choices: []int{1}}) // changed his mind
		if got.Tally.Options[1].Count != 2 || got.Tally.Options[2].Count != 0 || !slices.Equal(got.Tally.Leading, []int{1}) {
			t.Errorf("tally %+v, want Noodles ahead with 2", got.Tally)
		}
		f.expire(p.ID)
		got = f.find(cleo, p.ID)
		if got.Outcome != OutcomePassed || !slices.Equal(got.Winners, []string{"Noodles"}) {
			t.Errorf("outcome %s winners %v, want passed with Noodles", got.Outcome, got.Winners)
		}
	})
	t.Run("a multiple-choice poll with a tie", func(t *testing.T) {
		p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "poll", Options: []string{"Mon", "Tue", "Wed"}, Multiple: true})
		f.vote(ana, p.ID, VoteInput{Choices: []int{0, 2}})
		f.vote(ben, p.ID, VoteInput{Choices: []int{2, 0}})
		f.expire(p.ID)
		got := f.find(ana, p.ID)
		if got.Outcome != OutcomePassed || !slices.Equal(got.Winners, []string{"Mon", "Wed"}) {
			t.Errorf("outcome %s winners %v, want passed with Mon and Wed", got.Outcome, got.Winners)
		}
	})
	t.Run("a poll nobody voted on fails", func(t *testing.T) {
		p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "poll", Options: []string{"a", "b"}})
		f.expire(p.ID)
		if got := f.find(ana, p.ID); got.Outcome != OutcomeFailed || len(got.Winners) != 0 {
			t.Errorf("outcome %s winners %v, want failed without winners", got.Outcome, got.Winners)
		}
	})
	t.Run("a score vote: the highest mean wins", func(t *testing.T) {
		p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "score", Options: []string{"Postgres", "SQLite"}})
		_, err := f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Scores: []int{5}})
		wantField(t, err, "scores")
		_, err = f.fb.CastVote(f.ctx, ben, p.ID, VoteInput{Scores: []int{5, 11}})
		wantField(t, err, "scores")
		f.vote(ana, p.ID, VoteInput{Scores: []int{9, 3}})
		f.vote(ben, p.ID, VoteInput{Scores: []int{6, 8}})
		got := f.vote(cleo, p.ID, VoteInput{Scores: []int{7, 10}})
		if m := *got.Tally.Options[0].Mean; m != 22.0/3 {
			t.Errorf("mean of Postgres %v, want 22/3", m)
		}
		f.expire(p.ID)
		got = f.find(ana, p.ID)
		if got.Outcome != OutcomePassed || !slices.Equal(got.Winners, []string{"Postgres"}) {
			t.Errorf("outcome %s winners %v, want Postgres (7.33 over 7)", got.Outcome, got.Winners)
		}
	})
}

func TestProposalQuorumAndHiddenResults(t *testing.T) {
	f := newPropFixture(t)
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")
	f.community("platform", true, ana, ben, cleo)

	t.Run("below the quorum fails, at it passes", func(t *testing.T) {
		low := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "consent", Quorum: propInt(3)})
		met := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "consent", Quorum: propInt(2)})
		for _, id := range []int64{low.ID, met.ID} {
			f.vote(ana, id, VoteInput{Position: "agree"})
			f.vote(ben, id, VoteInput{Position: "agree"})
		}
		if got := f.find(ana, low.ID); got.QuorumProgress.Met || got.QuorumProgress.Votes != 2 {
			t.Errorf("quorum progress %+v, want 2 of 3, not met", got.QuorumProgress)
		}
		f.expire(low.ID)
		f.expire(met.ID)
		if got := f.find(ana, low.ID); got.Outcome != OutcomeFailed {
			t.Errorf("2 votes of a quorum of 3: %s, want failed", got.Outcome)
		}
		if got := f.find(ana, met.ID); got.Outcome != OutcomePassed || !got.QuorumProgress.Met {
			t.Errorf("2 votes of a quorum of 2: %s %+v, want passed", got.Outcome, got.QuorumProgress)
		}
	})
	t.Run("hidden results show only one's own vote until close", func(t *testing.T) {
		p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "poll", Options: []string{"a", "b"}, HiddenResults: true})
		f.pub.take("")
		f.vote(ben, p.ID, VoteInput{Choices: []int{1}})
		got := f.vote(cleo, p.ID, VoteInput{Choices: []int{1}})
		if got.Tally != nil || !got.ResultsHidden || got.MyVote == nil || !slices.Equal(got.MyVote.Choices, []int{1}) {
			t.Errorf("tally %+v hidden %v my vote %+v, want no tally but my own vote", got.Tally, got.ResultsHidden, got.MyVote)
		}
		if got.Votes != 2 || !slices.Equal(refHandles(got.NotVoted), []string{"ana"}) {
			t.Errorf("votes %d not voted %v: participation stays visible", got.Votes, refHandles(got.NotVoted))
		}
		for _, ev := range f.pub.take("proposal.vote") {
			if strings.Contains(string(ev.Object), "tally") {
				t.Errorf("vote event %s carries the tally of a hidden poll", ev.Object)
			}
		}
		seen := f.find(ana, p.ID)
		if seen.Tally != nil || seen.MyVote != nil {
			t.Errorf("ana sees tally %+v my vote %+v, want neither", seen.Tally, seen.MyVote)
		}
		f.expire(p.ID)
		seen = f.find(ana, p.ID)
		if seen.Tally == nil || seen.Tally.Options[1].Count != 2 || seen.ResultsHidden {
			t.Errorf("after close tally %+v, want b with 2", seen.Tally)
		}
		closed := f.pub.take("proposal.closed")
		if len(closed) != 1 || !strings.Contains(string(closed[0].Object), `"count":2`) {
			t.Errorf("closed events %v, want one with the tally", closed)
		}
	})
}

func TestProposalVisibilityAndStatement(t *testing.T) {
	f := newPropFixture(t)
	ana, ben, cleo := f.node("ana"), f.node("ben"), f.node("cleo")
	f.community("platform", true, ana, ben)
	f.community("hiring", false, ana, ben)
	open := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "consent"})
	private := f.propose(ana, ProposalInput{CommunitySlug: "hiring", Process: "consent"})

	t.Run("an invite-only community's proposal is invisible to others", func(t *testing.T) {
		_, err := f.fb.FindProposal(f.ctx, cleo, private.ID)
		wantErr(t, err, community.ErrNotFound)
		_, err = f.fb.CastVote(f.ctx, cleo, private.ID, VoteInput{Position: "agree"})
		wantErr(t, err, community.ErrNotFound)
		_, err = f.fb.WriteOutcomeStatement(f.ctx, cleo, private.ID, "x")
		wantErr(t, err, community.ErrNotFound)
		list, err := f.fb.ListProposals(f.ctx, cleo, ProposalFilter{Community: "hiring"})
		wantErr(t, err, community.ErrNotFound)
		if list != nil {
			t.Errorf("list %v", list)
		}
	})
	t.Run("an open community's proposal may be read by anyone", func(t *testing.T) {
		got := f.find(cleo, open.ID)
		if got.IsMember || got.CanVote {
			t.Errorf("is member %v can vote %v, want a reader only", got.IsMember, got.CanVote)
		}
		list, err := f.fb.ListProposals(f.ctx, cleo, ProposalFilter{Community: "platform"})
		if err != nil || len(list) != 1 || list[0].ID != open.ID {
			t.Errorf("list %+v (%v), want the open proposal", list, err)
		}
	})
	t.Run("lists: mine, by status, paged", func(t *testing.T) {
		list, err := f.fb.ListProposals(f.ctx, ben, ProposalFilter{})
		if err != nil || len(list) != 2 || list[0].ID != private.ID {
			t.Fatalf("ben's list %+v (%v), want both, newest first", list, err)
		}
		list, err = f.fb.ListProposals(f.ctx, ben, ProposalFilter{Before: private.ID})
		if err != nil || len(list) != 1 || list[0].ID != open.ID {
			t.Errorf("page after %d: %+v (%v)", private.ID, list, err)
		}
		list, err = f.fb.ListProposals(f.ctx, ben, ProposalFilter{Status: "closed"})
		if err != nil || len(list) != 0 {
			t.Errorf("closed: %+v (%v), want none", list, err)
		}
		_, err = f.fb.ListProposals(f.ctx, ben, ProposalFilter{Status: "pending"})
		wantField(t, err, "status")
	})
	t.Run("the statement waits for the close", func(t *testing.T) {
		_, err := f.fb.WriteOutcomeStatement(f.ctx, ben, open.ID, "We go ahead.")
		wantErr(t, err, community.ErrConflict)
	})
	f.vote(ben, open.ID, VoteInput{Position: "agree"})
	f.expire(open.ID)
	t.Run("a list closes what is due, as a page does", func(t *testing.T) {
		list, err := f.fb.ListProposals(f.ctx, ana, ProposalFilter{Community: "platform"})
		if err != nil || len(list) != 1 || list[0].Status != ProposalClosed || list[0].Outcome != OutcomePassed {
			t.Errorf("list %+v (%v), want it closed and passed", list, err)
		}
	})
	t.Run("a reader who is no participant may not write the statement", func(t *testing.T) {
		_, err := f.fb.WriteOutcomeStatement(f.ctx, cleo, open.ID, "I was not there.")
		wantErr(t, err, community.ErrForbidden)
	})
	t.Run("an empty statement", func(t *testing.T) {
		_, err := f.fb.WriteOutcomeStatement(f.ctx, ben, open.ID, "  ")
		wantField(t, err, "statement")
	})
	t.Run("any participant writes and rewrites the statement", func(t *testing.T) {
		f.pub.take("")
		if got, err := f.fb.WriteOutcomeStatement(f.ctx, ben, open.ID, "We go ahead on Monday."); err != nil || got.OutcomeStatement != "We go ahead on Monday." {
			t.Fatalf("statement %q (%v)", got.OutcomeStatement, err)
		}
		if got, err := f.fb.WriteOutcomeStatement(f.ctx, ana, open.ID, "We go ahead on Tuesday."); err != nil || got.OutcomeStatement != "We go ahead on Tuesday." {
			t.Fatalf("rewritten statement %q (%v)", got.OutcomeStatement, err)
		}
		if evs := f.pub.take("proposal.outcome"); len(evs) != 2 || !evs[0].ToAll {
			t.Errorf("outcome events %+v, want two, to all", evs)
		}
	})
	t.Run("a voter who left the community still may", func(t *testing.T) {
		if err := f.net.LeaveCommunity(f.ctx, ben, "platform"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.fb.WriteOutcomeStatement(f.ctx, ben, open.ID, "Monday after all."); err != nil {
			t.Errorf("statement by a voter who left: %v", err)
		}
	})
}

func TestProposalClosesExactlyOnce(t *testing.T) {
	f := newPropFixture(t)
	ana, ben := f.node("ana"), f.node("ben")
	f.community("platform", true, ana, ben)
	const proposals = 60 // more than one batch
	var ids []int64
	for range proposals {
		p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "consent"})
		f.vote(ben, p.ID, VoteInput{Position: "agree"})
		ids = append(ids, p.ID)
	}
	if _, err := f.pool.Exec(f.ctx, `UPDATE proposals SET closes_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	f.pub.take("")

	// Closers and readers race, as instances and page views would.
	var wg sync.WaitGroup
	var mu sync.Mutex
	closedByClosers := 0
	start := make(chan struct{})
	for range 16 {
		wg.Go(func() {
			<-start
			for range 3 {
				n, err := f.fb.CloseDue(f.ctx)
				if err != nil {
					t.Errorf("close due: %v", err)
				}
				mu.Lock()
				closedByClosers += n
				mu.Unlock()
			}
		})
	}
	for i := range 8 {
		wg.Go(func() {
			<-start
			if _, err := f.fb.FindProposal(f.ctx, ben, ids[i*7]); err != nil {
				t.Errorf("read while closing: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()

	var closedEvents, closed, withOutcome int
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FROM events WHERE type = 'proposal.closed'`).Scan(&closedEvents); err != nil {
		t.Fatal(err)
	}
	if err := f.pool.QueryRow(f.ctx, `SELECT count(*) FILTER (WHERE status = 'closed'), count(*) FILTER (WHERE outcome = 'passed') FROM proposals`).Scan(&closed, &withOutcome); err != nil {
		t.Fatal(err)
	}
	if closedEvents != proposals || closed != proposals || withOutcome != proposals {
		t.Errorf("%d closed events, %d closed, %d with an outcome; want %d each", closedEvents, closed, withOutcome, proposals)
	}
	if closedByClosers > proposals {
		t.Errorf("closers report %d closes of %d proposals", closedByClosers, proposals)
	}
	for _, id := range ids {
		if n := f.closedEvents(id); n != 1 {
			t.Errorf("proposal %d has %d closed events, want 1", id, n)
		}
	}
	if pub := len(f.pub.take("proposal.closed")); pub != proposals {
		t.Errorf("%d closed events published, want %d", pub, proposals)
	}
	t.Run("a second pass closes nothing", func(t *testing.T) {
		if n, err := f.fb.CloseDue(f.ctx); n != 0 || err != nil {
			t.Errorf("close due again = %d (%v), want 0", n, err)
		}
	})
	t.Run("a proposal not yet due stays open", func(t *testing.T) {
		p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "consent"})
		if n, err := f.fb.CloseDue(f.ctx); n != 0 || err != nil {
			t.Errorf("close due = %d (%v), want 0", n, err)
		}
		if got := f.find(ana, p.ID); got.Status != ProposalOpen {
			t.Errorf("status %s, want open", got.Status)
		}
	})
}

func TestRunCloserClosesAtTheClosingTime(t *testing.T) {
	f := newPropFixture(t)
	ana := f.node("ana")
	f.community("platform", true, ana)
	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() { defer close(done); f.fb.RunCloser(ctx, time.Second, nil) }()
	defer func() { cancel(); <-done }()

	// Not on a whole second of the closer's rhythm: only looking sooner when
	// one is due closes it on time.
	closesAt := time.Now().Add(2300 * time.Millisecond)
	p := f.propose(ana, ProposalInput{CommunitySlug: "platform", Process: "consent", ClosesAt: closesAt})
	deadline := time.Now().Add(5 * time.Second)
	for {
		var status string
		var closedAt *time.Time
		if err := f.pool.QueryRow(f.ctx, `SELECT status, closed_at FROM proposals WHERE id = $1`, p.ID).Scan(&status, &closedAt); err != nil {
			t.Fatal(err)
		}
		if status == ProposalClosed {
			late := closedAt.Sub(closesAt)
			t.Logf("closed %s after its closing time (the closer looks every 1s, and sooner when one is due)", late.Round(time.Millisecond))
			if late < 0 || late > 500*time.Millisecond {
				t.Errorf("closed %s after the closing time, want within 0.5s", late)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("not closed within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
