package feedback

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Shared decisions. A proposal lives in a community: its members propose and
// vote; who may read the community (anyone for an open one, members for an
// invite-only one) may read its proposals. Votes can be changed until the
// closing time; then the proposal is closed exactly once, by whichever instance
// gets there first (closer.go), and its outcome is fixed (decideOutcome).

// Limits of a proposal.
const (
	ProposalMinOptions   = 2
	ProposalMaxOptions   = 20
	ProposalMaxQuorum    = 100000
	proposalTitleMax     = 200
	proposalBodyMax      = 10000
	proposalOptionMax    = 200
	proposalReasonMax    = 2000
	proposalStatementMax = 5000
	// proposalNotVotedMax bounds the "has not voted yet" list of one proposal.
	proposalNotVotedMax = 500
)

// ProposalInput is a new proposal.
type ProposalInput struct {
	CommunitySlug string
	Title         string
	Body          string
	Process       string // consent, poll or score
	Options       []string
	Multiple      bool // poll: several choices allowed
	ClosesAt      time.Time
	Quorum        *int // votes needed for a valid decision; nil: none
	HiddenResults bool // tallies hidden until close
}

// Vote is one node's vote as the proposal stores it.
type Vote struct {
	Position  string    `json:"position,omitempty"` // consent
	Choices   []int     `json:"choices,omitempty"`  // poll: option indexes
	Scores    []int     `json:"scores,omitempty"`   // score: one per option, in order
	Reason    string    `json:"reason,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Objection is a disagreement or block with its reason.
type Objection struct {
	Node   community.NodeRef `json:"node"`
	Reason string            `json:"reason"`
}

// QuorumProgress says how far the votes are from the quorum.
type QuorumProgress struct {
	Required *int `json:"required"` // nil: no quorum
	Votes    int  `json:"votes"`
	Met      bool `json:"met"`
}

// Proposal is a proposal as one viewer sees it.
type Proposal struct {
	ID               int64                  `json:"id"`
	Community        community.CommunityRef `json:"community"`
	Author           community.NodeRef      `json:"author"`
	Title            string                 `json:"title"`
	Body             string                 `json:"body"`
	Process          string                 `json:"process"`
	Options          []string               `json:"options"`
	Multiple         bool                   `json:"multiple"`
	ClosesAt         time.Time              `json:"closes_at"`
	Quorum           *int                   `json:"quorum"`
	HiddenResults    bool                   `json:"hidden_results"`
	Status           string                 `json:"status"`            // open or closed
	Outcome          string                 `json:"outcome,omitempty"` // once closed: passed or failed
	OutcomeStatement string                 `json:"outcome_statement"`
	ClosedAt         *time.Time             `json:"closed_at,omitempty"`
	CreatedAt        time.Time              `json:"created_at"`

	// Members is how many active members may vote; Votes how many voted.
	Members        int            `json:"members"`
	Votes          int            `json:"votes"`
	QuorumProgress QuorumProgress `json:"quorum_progress"`
	// ResultsHidden: the tally, blocks and disagreements are withheld until close.
	ResultsHidden bool           `json:"results_hidden"`
	Tally         *ProposalTally `json:"tally,omitempty"`
	// Blocks and Disagreements are the consent objections with their reasons.
	Blocks        []Objection `json:"blocks"`
	Disagreements []Objection `json:"disagreements"`
	// Winners are the winning options of a passed poll or score proposal.
	Winners []string `json:"winners,omitempty"`
	// NotVoted are the active members without a vote (at most 500).
	NotVoted []community.NodeRef `json:"not_voted"`

	// Relative to the viewer.
	IsMember bool  `json:"is_member"`
	CanVote  bool  `json:"can_vote"`
	MyVote   *Vote `json:"my_vote"`
	// CanState: the viewer may write the outcome statement (closed, and a member or voter).
	CanState bool `json:"can_write_statement"`

	communityID int64
	open        bool // the community is open
}

// ProposalSummary is a proposal in lists.
type ProposalSummary struct {
	ID        int64                  `json:"id"`
	Community community.CommunityRef `json:"community"`
	Author    community.NodeRef      `json:"author"`
	Title     string                 `json:"title"`
	Process   string                 `json:"process"`
	Status    string                 `json:"status"`
	Outcome   string                 `json:"outcome,omitempty"`
	ClosesAt  time.Time              `json:"closes_at"`
	ClosedAt  *time.Time             `json:"closed_at,omitempty"`
	CreatedAt time.Time              `json:"created_at"`
	Votes     int                    `json:"votes"`
	Voted     bool                   `json:"voted"` // the viewer voted
}

// ProposalFilter narrows a list; Before is the keyset cursor (a proposal id).
type ProposalFilter struct {
	Community string // slug; empty: the viewer's communities
	Status    string // open, closed or empty for both
	Before    int64
	Limit     int
}

func proposalInvalid(field, format string, args ...any) error {
	return &community.ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// proposalErr prefixes unexpected errors and passes the domain's own through.
func proposalErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *community.ValidationError
	if errors.As(err, &ve) || errors.Is(err, community.ErrNotFound) || errors.Is(err, community.ErrConflict) ||
		errors.Is(err, community.ErrForbidden) || errors.Is(err, community.ErrUnauthorized) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

func proposalCleanText(s string) string {
	return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
}

// validate normalises the input and names the first field at fault.
func (in *ProposalInput) validate(now time.Time) error {
	in.CommunitySlug = strings.ToLower(strings.TrimSpace(in.CommunitySlug))
	in.Title = proposalCleanText(in.Title)
	in.Body = proposalCleanText(in.Body)
	in.Process = strings.ToLower(strings.TrimSpace(in.Process))
	if in.CommunitySlug == "" {
		return proposalInvalid("community_slug", "name the community that decides")
	}
	if n := utf8.RuneCountInString(in.Title); n < 1 || n > proposalTitleMax {
		return proposalInvalid("title", "give the proposal a title of 1 to %d characters", proposalTitleMax)
	}
	if n := utf8.RuneCountInString(in.Body); n > proposalBodyMax {
		return proposalInvalid("body", "a proposal holds at most %d characters; this one has %d", proposalBodyMax, n)
	}
	switch in.Process {
	case ProcessConsent:
		if len(in.Options) > 0 {
			return proposalInvalid("options", "a consent proposal has no options: members agree, abstain, disagree or block")
		}
		in.Options = []string{}
	case ProcessPoll, ProcessScore:
		opts := make([]string, 0, len(in.Options))
		seen := map[string]bool{}
		for i, o := range in.Options {
			o = proposalCleanText(o)
			if n := utf8.RuneCountInString(o); n < 1 || n > proposalOptionMax {
				return proposalInvalid("options", "option %d must have 1 to %d characters", i+1, proposalOptionMax)
			}
			if seen[strings.ToLower(o)] {
				return proposalInvalid("options", "option %q is listed twice", o)
			}
			seen[strings.ToLower(o)] = true
			opts = append(opts, o)
		}
		if len(opts) < ProposalMinOptions || len(opts) > ProposalMaxOptions {
			return proposalInvalid("options", "a %s needs %d to %d options; this one has %d", in.Process, ProposalMinOptions, ProposalMaxOptions, len(opts))
		}
		in.Options = opts
	default:
		return proposalInvalid("process", "use consent, poll or score")
	}
	if in.Multiple && in.Process != ProcessPoll {
		return proposalInvalid("multiple", "only a poll allows several choices")
	}
	if in.ClosesAt.IsZero() {
		return proposalInvalid("closes_at", "say when voting closes")
	}
	if !in.ClosesAt.After(now) {
		return proposalInvalid("closes_at", "the closing time must be in the future")
	}
	if in.ClosesAt.After(now.AddDate(1, 0, 0)) {
		return proposalInvalid("closes_at", "the closing time must be within a year")
	}
	if in.Quorum != nil && (*in.Quorum < 1 || *in.Quorum > ProposalMaxQuorum) {
		return proposalInvalid("quorum", "a quorum is a number of votes from 1 to %d, or none", ProposalMaxQuorum)
	}
	return nil
}

func proposalSubject(id int64) string { return "nc.evt.proposal." + strconv.FormatInt(id, 10) }
func proposalRef(id int64) string     { return "proposal:" + strconv.FormatInt(id, 10) }

// proposalReaders is who may read proposals of a community: everyone for an
// open community (toAll), else its members.
func proposalReaders(ctx context.Context, tx pgx.Tx, communityID int64, open bool) (bool, []int64, error) {
	if open {
		return true, nil, nil
	}
	ids, err := proposalMemberIDs(ctx, tx, communityID)
	return false, ids, err
}

// proposalMemberIDs lists the active members of a community: who may vote.
func proposalMemberIDs(ctx context.Context, tx pgx.Tx, communityID int64) ([]int64, error) {
	rows, err := tx.Query(ctx, `SELECT m.node_id FROM community_members m JOIN nodes n ON n.id = m.node_id
		WHERE m.community_id = $1 AND n.deactivated_at IS NULL ORDER BY m.node_id`, communityID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// proposalCreated is the object of a proposal.created event.
type proposalCreated struct {
	ProposalID int64                  `json:"proposal_id"`
	Community  community.CommunityRef `json:"community"`
	Author     community.NodeRef      `json:"author"`
	Title      string                 `json:"title"`
	Process    string                 `json:"process"`
	ClosesAt   time.Time              `json:"closes_at"`
}

// CreateProposal puts a proposal to a community the author belongs to.
func (s *Store) CreateProposal(ctx context.Context, author int64, in ProposalInput) (Proposal, error) {
	if err := in.validate(time.Now()); err != nil {
		return Proposal{}, err
	}
	var id int64
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var cid int64
		var open, member bool
		var name string
		err := tx.QueryRow(ctx, `SELECT c.id, c.name, c.open,
			EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = $2)
			FROM communities c WHERE c.slug = $1`, in.CommunitySlug, author).Scan(&cid, &name, &open, &member)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !open && !member) {
			return proposalInvalid("community_slug", "there is no community %q you can see", in.CommunitySlug)
		}
		if err != nil {
			return err
		}
		if !member {
			return community.ErrForbidden // only members decide
		}
		var created time.Time
		err = tx.QueryRow(ctx, `INSERT INTO proposals (community_id, author_id, title, body, process, options, multiple,
			closes_at, quorum, hidden_results) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id, created_at`,
			cid, author, in.Title, in.Body, in.Process, in.Options, in.Multiple, in.ClosesAt, in.Quorum, in.HiddenResults).Scan(&id, &created)
		if err != nil {
			return err
		}
		var a community.NodeRef
		if err := tx.QueryRow(ctx, `SELECT id, handle, display_name FROM nodes WHERE id = $1`, author).Scan(&a.ID, &a.Handle, &a.DisplayName); err != nil {
			return err
		}
		toAll, to, err := proposalReaders(ctx, tx, cid, open)
		if err != nil {
			return err
		}
		obj := proposalCreated{ProposalID: id, Community: community.CommunityRef{Slug: in.CommunitySlug, Name: name},
			Author: a, Title: in.Title, Process: in.Process, ClosesAt: in.ClosesAt}
		return community.AddEvent(ctx, tx, &events, proposalSubject(id), "proposal.created", obj, toAll, to)
	})
	if err != nil {
		return Proposal{}, proposalErr("create proposal", err)
	}
	s.net.PublishEvents(ctx, events)
	return s.FindProposal(ctx, author, id)
}

// proposalSelect reads a proposal for viewer $1; the condition proposalVisible
// keeps invite-only communities' proposals to their members.
const proposalSelect = `SELECT p.id, c.id, c.slug, c.name, c.open, a.id, a.handle, a.display_name,
	p.title, p.body, p.process, p.options, p.multiple, p.closes_at, p.quorum, p.hidden_results,
	p.status, coalesce(p.outcome, ''), p.outcome_statement, p.closed_at, p.created_at,
	EXISTS (SELECT 1 FROM community_members vm WHERE vm.community_id = c.id AND vm.node_id = $1),
	p.status = 'open' AND p.closes_at <= now()
	FROM proposals p
	JOIN communities c ON c.id = p.community_id
	JOIN nodes a ON a.id = p.author_id`

const proposalVisible = `(c.open OR EXISTS (SELECT 1 FROM community_members vm WHERE vm.community_id = c.id AND vm.node_id = $1))`

// scanProposal reads a proposalSelect row; due reports an open proposal past
// its closing time (not closed yet by any instance).
func scanProposal(row pgx.Row) (p Proposal, due bool, err error) {
	err = row.Scan(&p.ID, &p.communityID, &p.Community.Slug, &p.Community.Name, &p.open,
		&p.Author.ID, &p.Author.Handle, &p.Author.DisplayName,
		&p.Title, &p.Body, &p.Process, &p.Options, &p.Multiple, &p.ClosesAt, &p.Quorum, &p.HiddenResults,
		&p.Status, &p.Outcome, &p.OutcomeStatement, &p.ClosedAt, &p.CreatedAt, &p.IsMember, &due)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, community.ErrNotFound
	}
	return p, due, err
}

// FindProposal returns a proposal as viewer may see it (ErrNotFound if it may
// not). A proposal past its closing time that no closer has reached yet is
// closed here, through the same exactly-once path (closeProposals), so a
// reader never sees "open" after the closing time nor a different outcome
// than everyone else.
func (s *Store) FindProposal(ctx context.Context, viewer, id int64) (Proposal, error) {
	p, due, err := scanProposal(s.pool.QueryRow(ctx, proposalSelect+` WHERE p.id = $2 AND `+proposalVisible, viewer, id))
	if err != nil {
		return Proposal{}, proposalErr("find proposal", err)
	}
	if due {
		if _, err := s.closeProposals(ctx, []int64{id}); err != nil {
			return Proposal{}, fmt.Errorf("find proposal: close on read: %w", err)
		}
		if p, _, err = scanProposal(s.pool.QueryRow(ctx, proposalSelect+` WHERE p.id = $2`, viewer, id)); err != nil {
			return Proposal{}, proposalErr("find proposal", err)
		}
	}
	if err := s.completeProposal(ctx, viewer, &p); err != nil {
		return Proposal{}, fmt.Errorf("find proposal: %w", err)
	}
	return p, nil
}

// proposalBallots reads the votes of a proposal, earliest first.
func proposalBallots(ctx context.Context, db community.DBTX, id int64) ([]ballot, error) {
	rows, err := db.Query(ctx, `SELECT n.id, n.handle, n.display_name, coalesce(v.position, ''), v.choices, v.scores,
		v.reason, v.created_at, v.updated_at
		FROM votes v JOIN nodes n ON n.id = v.node_id WHERE v.proposal_id = $1 ORDER BY v.created_at, v.node_id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ballot, error) {
		var b ballot
		err := r.Scan(&b.Node.ID, &b.Node.Handle, &b.Node.DisplayName, &b.Position, &b.Choices, &b.Scores,
			&b.Reason, &b.CreatedAt, &b.UpdatedAt)
		return b, err
	})
}

// completeProposal adds the votes, tallies and participation to p for viewer.
func (s *Store) completeProposal(ctx context.Context, viewer int64, p *Proposal) error {
	votes, err := proposalBallots(ctx, s.pool, p.ID)
	if err != nil {
		return err
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM community_members m JOIN nodes n ON n.id = m.node_id
		WHERE m.community_id = $1 AND n.deactivated_at IS NULL`, p.communityID).Scan(&p.Members); err != nil {
		return err
	}
	rows, err := s.pool.Query(ctx, `SELECT n.id, n.handle, n.display_name FROM community_members m JOIN nodes n ON n.id = m.node_id
		WHERE m.community_id = $1 AND n.deactivated_at IS NULL
		  AND NOT EXISTS (SELECT 1 FROM votes v WHERE v.proposal_id = $2 AND v.node_id = m.node_id)
		ORDER BY n.display_name, n.id LIMIT $3`, p.communityID, p.ID, proposalNotVotedMax)
	if err != nil {
		return err
	}
	if p.NotVoted, err = pgx.CollectRows(rows, pgx.RowToStructByPos[community.NodeRef]); err != nil {
		return err
	}
	fillProposal(p, viewer, votes)
	return nil
}

// fillProposal derives everything that depends on the votes and the viewer.
// Hidden results stay hidden until close, except the viewer's own vote and the
// participation (how many voted, who has not): hiding is about the results,
// not about who took part.
func fillProposal(p *Proposal, viewer int64, votes []ballot) {
	closed := p.Status == ProposalClosed
	p.Votes = len(votes)
	p.QuorumProgress = QuorumProgress{Required: p.Quorum, Votes: len(votes), Met: quorumMet(p.Quorum, len(votes))}
	p.Blocks, p.Disagreements = []Objection{}, []Objection{}
	if p.NotVoted == nil {
		p.NotVoted = []community.NodeRef{}
	}
	voted := false
	for _, v := range votes {
		if v.Node.ID == viewer {
			voted = true
			p.MyVote = &Vote{Position: v.Position, Choices: v.Choices, Scores: v.Scores, Reason: v.Reason, UpdatedAt: v.UpdatedAt}
		}
	}
	p.CanVote = p.IsMember && !closed
	p.CanState = closed && (p.IsMember || voted)
	p.ResultsHidden = p.HiddenResults && !closed
	if p.ResultsHidden {
		return
	}
	t := countBallots(p.Process, p.Options, votes)
	p.Tally = &t
	for _, v := range votes {
		switch v.Position {
		case PositionBlock:
			p.Blocks = append(p.Blocks, Objection{Node: v.Node, Reason: v.Reason})
		case PositionDisagree:
			p.Disagreements = append(p.Disagreements, Objection{Node: v.Node, Reason: v.Reason})
		}
	}
	if closed && p.Outcome == OutcomePassed && p.Process != ProcessConsent {
		for _, i := range t.Leading {
			p.Winners = append(p.Winners, p.Options[i])
		}
	}
}

// ListProposals lists the proposals viewer may read, newest first: of one
// community, or of the viewer's own communities when f.Community is empty.
func (s *Store) ListProposals(ctx context.Context, viewer int64, f ProposalFilter) ([]ProposalSummary, error) {
	if f.Limit <= 0 || f.Limit > 100 {
		f.Limit = 20
	}
	f.Status = strings.ToLower(strings.TrimSpace(f.Status))
	if f.Status != "" && f.Status != ProposalOpen && f.Status != ProposalClosed {
		return nil, proposalInvalid("status", "use open or closed, or leave it out for both")
	}
	var cid int64
	if f.Community != "" {
		c, err := s.net.FindCommunity(ctx, viewer, f.Community)
		if err != nil {
			return nil, proposalErr("list proposals", err)
		}
		cid = c.ID
	}
	// Close what is due first, so the list agrees with every proposal page.
	if err := s.closeDueIn(ctx, viewer, cid); err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT p.id, c.slug, c.name, a.id, a.handle, a.display_name, p.title, p.process,
		p.status, coalesce(p.outcome, ''), p.closes_at, p.closed_at, p.created_at,
		(SELECT count(*) FROM votes v WHERE v.proposal_id = p.id)::int,
		EXISTS (SELECT 1 FROM votes v WHERE v.proposal_id = p.id AND v.node_id = $1)
		FROM proposals p JOIN communities c ON c.id = p.community_id JOIN nodes a ON a.id = p.author_id
		WHERE `+proposalVisible+`
		  AND (CASE WHEN $2::bigint = 0
		       THEN p.community_id IN (SELECT community_id FROM community_members WHERE node_id = $1)
		       ELSE p.community_id = $2 END)
		  AND ($3 = '' OR p.status = $3)
		  AND ($4::bigint = 0 OR p.id < $4)
		ORDER BY p.id DESC LIMIT $5`, viewer, cid, f.Status, f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ProposalSummary, error) {
		var p ProposalSummary
		err := r.Scan(&p.ID, &p.Community.Slug, &p.Community.Name, &p.Author.ID, &p.Author.Handle, &p.Author.DisplayName,
			&p.Title, &p.Process, &p.Status, &p.Outcome, &p.ClosesAt, &p.ClosedAt, &p.CreatedAt, &p.Votes, &p.Voted)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list proposals: %w", err)
	}
	if out == nil {
		out = []ProposalSummary{}
	}
	return out, nil
}

// closeDueIn closes the due proposals a list is about to show (of one
// community, or of the viewer's communities), through closeProposals.
func (s *Store) closeDueIn(ctx context.Context, viewer, communityID int64) error {
	rows, err := s.pool.Query(ctx, `SELECT p.id FROM proposals p WHERE p.status = 'open' AND p.closes_at <= now()
		AND (CASE WHEN $2::bigint = 0
		     THEN p.community_id IN (SELECT community_id FROM community_members WHERE node_id = $1)
		     ELSE p.community_id = $2 END)`, viewer, communityID)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	// One at a time: a transaction never waits for two rows, so two readers
	// closing overlapping lists cannot deadlock.
	for _, id := range ids {
		if _, err := s.closeProposals(ctx, []int64{id}); err != nil {
			return err
		}
	}
	return nil
}
