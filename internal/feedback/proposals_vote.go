package feedback

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// VoteInput is a vote: a position (consent), choices (poll) or scores (score),
// and a reason (required to disagree or block).
type VoteInput struct {
	Position string
	Choices  []int
	Scores   []int
	Reason   string
}

// proposalRules is what validating a vote needs to know of its proposal.
type proposalRules struct {
	Process  string
	Options  []string
	Multiple bool
}

// validateVote checks a vote against the proposal's process and names the
// first field at fault.
func validateVote(p proposalRules, in *VoteInput) error {
	in.Position = strings.ToLower(strings.TrimSpace(in.Position))
	in.Reason = proposalCleanText(in.Reason)
	if n := utf8.RuneCountInString(in.Reason); n > proposalReasonMax {
		return proposalInvalid("reason", "keep the reason under %d characters", proposalReasonMax)
	}
	switch p.Process {
	case ProcessConsent:
		if len(in.Choices) > 0 {
			return proposalInvalid("choices", "a consent proposal takes a position, not choices")
		}
		if len(in.Scores) > 0 {
			return proposalInvalid("scores", "a consent proposal takes a position, not scores")
		}
		switch in.Position {
		case PositionAgree, PositionAbstain:
		case PositionDisagree, PositionBlock:
			if in.Reason == "" {
				return proposalInvalid("reason", "say why you %s: the others need your reason to respond to it", in.Position)
			}
		case "":
			return proposalInvalid("position", "choose agree, abstain, disagree or block")
		default:
			return proposalInvalid("position", "use agree, abstain, disagree or block")
		}
	case ProcessPoll:
		if in.Position != "" {
			return proposalInvalid("position", "a poll takes choices, not a position")
		}
		if len(in.Scores) > 0 {
			return proposalInvalid("scores", "a poll takes choices, not scores")
		}
		if len(in.Choices) == 0 {
			return proposalInvalid("choices", "choose an option")
		}
		if !p.Multiple && len(in.Choices) > 1 {
			return proposalInvalid("choices", "this poll takes one choice")
		}
		seen := map[int]bool{}
		for _, c := range in.Choices {
			if c < 0 || c >= len(p.Options) {
				return proposalInvalid("choices", "choices are option numbers from 0 to %d", len(p.Options)-1)
			}
			if seen[c] {
				return proposalInvalid("choices", "option %d is chosen twice", c)
			}
			seen[c] = true
		}
		in.Choices = slices.Sorted(maps.Keys(seen))
	case ProcessScore:
		if in.Position != "" {
			return proposalInvalid("position", "a score vote takes scores, not a position")
		}
		if len(in.Choices) > 0 {
			return proposalInvalid("choices", "a score vote takes scores, not choices")
		}
		if len(in.Scores) != len(p.Options) {
			return proposalInvalid("scores", "give every option a score: %d scores, in the order of the options", len(p.Options))
		}
		for i, sc := range in.Scores {
			if sc < 0 || sc > ProposalMaxScore {
				return proposalInvalid("scores", "score %d is %d; scores go from 0 to %d", i+1, sc, ProposalMaxScore)
			}
		}
	}
	return nil
}

// proposalVoted is the object of a proposal.vote event. The tally travels only
// when results are not hidden; participation always does.
type proposalVoted struct {
	ProposalID int64          `json:"proposal_id"`
	Community  string         `json:"community"`
	Voter      string         `json:"voter"` // handle
	Votes      int            `json:"votes"`
	Tally      *ProposalTally `json:"tally,omitempty"`
}

// CastVote records or replaces node's vote on a proposal until it closes. Only
// members vote; a vote after the closing time is a conflict (ErrConflict on
// field "status").
//
// A first vote records a "vote" interaction from the voter to the proposal's
// author, once: relating each voter to every other voter would write O(n²)
// rows per proposal and claim ties nobody acted on, while voting on
// someone's proposal is a real exchange with them. Changing a vote is not a
// new interaction.
func (s *Store) CastVote(ctx context.Context, node, id int64, in VoteInput) (Proposal, error) {
	var events []community.Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// FOR SHARE: votes proceed side by side, but the closer (FOR UPDATE
		// SKIP LOCKED) waits for this one, so a vote is counted iff it was
		// accepted before the close.
		var cid, author int64
		var slug string
		var open, hidden, votable, member bool
		var rules proposalRules
		var closesAt time.Time
		err := tx.QueryRow(ctx, `SELECT p.community_id, p.author_id, c.slug, c.open, p.process, p.options, p.multiple,
			p.hidden_results, p.closes_at, p.status = 'open' AND p.closes_at > now(),
			EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = p.community_id AND m.node_id = $1)
			FROM proposals p JOIN communities c ON c.id = p.community_id
			WHERE p.id = $2 FOR SHARE OF p`, node, id).Scan(&cid, &author, &slug, &open, &rules.Process, &rules.Options,
			&rules.Multiple, &hidden, &closesAt, &votable, &member)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !open && !member) {
			return community.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !member {
			return community.ErrForbidden // readers of an open community watch; members vote
		}
		if !votable {
			return community.Conflict("status", "Voting on this proposal closed at "+closesAt.UTC().Format("2 Jan 2006 15:04 MST")+".")
		}
		if err := validateVote(rules, &in); err != nil {
			return err
		}
		var position *string
		if in.Position != "" {
			position = &in.Position
		}
		var first bool
		err = tx.QueryRow(ctx, `INSERT INTO votes (proposal_id, node_id, position, choices, scores, reason)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (proposal_id, node_id) DO UPDATE SET position = EXCLUDED.position, choices = EXCLUDED.choices,
				scores = EXCLUDED.scores, reason = EXCLUDED.reason, updated_at = now()
			RETURNING xmax = 0`, id, node, position, proposalIntsOrNil(in.Choices), proposalIntsOrNil(in.Scores), in.Reason).Scan(&first)
		if err != nil {
			return err
		}
		if first {
			if err := community.RecordInteractions(ctx, tx, node, []int64{author}, community.InteractionVote, proposalRef(id)); err != nil {
				return err
			}
		}
		votes, err := proposalBallots(ctx, tx, id)
		if err != nil {
			return err
		}
		ev := proposalVoted{ProposalID: id, Community: slug, Votes: len(votes)}
		for _, v := range votes {
			if v.Node.ID == node {
				ev.Voter = v.Node.Handle
			}
		}
		if !hidden {
			t := countBallots(rules.Process, rules.Options, votes)
			ev.Tally = &t
		}
		members, err := proposalMemberIDs(ctx, tx, cid)
		if err != nil {
			return err
		}
		return community.AddEvent(ctx, tx, &events, proposalSubject(id), "proposal.vote", ev, false, members)
	})
	if err != nil {
		return Proposal{}, proposalErr("cast vote", err)
	}
	s.net.PublishEvents(ctx, events)
	return s.FindProposal(ctx, node, id)
}

// proposalIntsOrNil stores an empty list as NULL: the column is for one process only.
func proposalIntsOrNil(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	return s
}

// proposalStatement is the object of a proposal.outcome event.
type proposalStatement struct {
	ProposalID int64  `json:"proposal_id"`
	Community  string `json:"community"`
	Statement  string `json:"statement"`
	By         string `json:"by"` // handle
}

// WriteOutcomeStatement sets (or rewrites) the statement of a closed
// proposal's outcome. Any participant may: a member of the community, or
// anyone who voted (and has left since).
func (s *Store) WriteOutcomeStatement(ctx context.Context, node, id int64, statement string) (Proposal, error) {
	statement = proposalCleanText(statement)
	// Close it first if it is due, so writing just after the closing time works
	// on every instance.
	p, err := s.FindProposal(ctx, node, id)
	if err != nil {
		return Proposal{}, err
	}
	if p.Status != ProposalClosed {
		return Proposal{}, community.Conflict("status", "The proposal is still open: write the outcome after it closes at "+
			p.ClosesAt.UTC().Format("2 Jan 2006 15:04 MST")+".")
	}
	if !p.CanState {
		return Proposal{}, community.ErrForbidden
	}
	if n := utf8.RuneCountInString(statement); n < 1 || n > proposalStatementMax {
		return Proposal{}, proposalInvalid("statement", "write an outcome statement of 1 to %d characters", proposalStatementMax)
	}
	var events []community.Event
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var by string
		if err := tx.QueryRow(ctx, `SELECT handle FROM nodes WHERE id = $1`, node).Scan(&by); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE proposals SET outcome_statement = $2 WHERE id = $1`, id, statement); err != nil {
			return err
		}
		toAll, to, err := proposalReaders(ctx, tx, p.communityID, p.open)
		if err != nil {
			return err
		}
		ev := proposalStatement{ProposalID: id, Community: p.Community.Slug, Statement: statement, By: by}
		return community.AddEvent(ctx, tx, &events, proposalSubject(id), "proposal.outcome", ev, toAll, to)
	})
	if err != nil {
		return Proposal{}, proposalErr("outcome statement", err)
	}
	s.net.PublishEvents(ctx, events)
	return s.FindProposal(ctx, node, id)
}
