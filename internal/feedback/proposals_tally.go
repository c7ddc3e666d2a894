package feedback

import (
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Decision processes of a proposal.
const (
	ProcessConsent = "consent" // agree / abstain / disagree / block
	ProcessPoll    = "poll"    // choose one option, or several when Multiple
	ProcessScore   = "score"   // 0–10 for every option
)

// Positions a consent vote takes.
const (
	PositionAgree    = "agree"
	PositionAbstain  = "abstain"
	PositionDisagree = "disagree"
	PositionBlock    = "block"
)

// Status and outcome of a proposal.
const (
	ProposalOpen   = "open"
	ProposalClosed = "closed"
	OutcomePassed  = "passed"
	OutcomeFailed  = "failed"
)

// ProposalMaxScore is the highest score a score vote gives an option (the lowest is 0).
const ProposalMaxScore = 10

// OptionTally is how one option of a poll or score proposal stands.
type OptionTally struct {
	Index  int      `json:"index"` // 0-based, as votes name options
	Option string   `json:"option"`
	Count  int      `json:"count"`           // poll: voters who chose it; score: voters who scored it
	Total  *int     `json:"total,omitempty"` // score: the sum of its scores
	Mean   *float64 `json:"mean,omitempty"`  // score: the mean score, 0 to 10
}

// ProposalTally is the count of a proposal's votes.
type ProposalTally struct {
	Votes int `json:"votes"`
	// Positions counts consent votes by position (all four keys, even at 0).
	Positions map[string]int `json:"positions,omitempty"`
	// Options counts poll and score votes per option.
	Options []OptionTally `json:"options,omitempty"`
	// Leading are the indexes of the options ahead (most choices, or the
	// highest mean score); several on a tie, none before any vote.
	Leading []int `json:"leading,omitempty"`
}

// ballot is one stored vote with its voter.
type ballot struct {
	Node      community.NodeRef
	Position  string
	Choices   []int
	Scores    []int
	Reason    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// countBallots tallies the votes of a proposal with the given process and options.
// Votes were validated when cast, so out-of-range entries (none expected) are
// ignored rather than trusted.
func countBallots(process string, options []string, votes []ballot) ProposalTally {
	t := ProposalTally{Votes: len(votes)}
	switch process {
	case ProcessConsent:
		t.Positions = map[string]int{PositionAgree: 0, PositionAbstain: 0, PositionDisagree: 0, PositionBlock: 0}
		for _, v := range votes {
			if _, ok := t.Positions[v.Position]; ok {
				t.Positions[v.Position]++
			}
		}
		return t
	case ProcessPoll:
		t.Options = make([]OptionTally, len(options))
		for i, o := range options {
			t.Options[i] = OptionTally{Index: i, Option: o}
		}
		for _, v := range votes {
			for _, c := range v.Choices {
				if c >= 0 && c < len(options) {
					t.Options[c].Count++
				}
			}
		}
		best := 0
		for _, o := range t.Options {
			best = max(best, o.Count)
		}
		for _, o := range t.Options {
			if best > 0 && o.Count == best {
				t.Leading = append(t.Leading, o.Index)
			}
		}
		return t
	case ProcessScore:
		totals := make([]int, len(options))
		counts := make([]int, len(options))
		for _, v := range votes {
			for i, sc := range v.Scores {
				if i < len(options) && sc >= 0 && sc <= ProposalMaxScore {
					totals[i] += sc
					counts[i]++
				}
			}
		}
		t.Options = make([]OptionTally, len(options))
		best := -1.0
		for i, o := range options {
			total := totals[i]
			mean := 0.0
			if counts[i] > 0 {
				mean = float64(total) / float64(counts[i])
			}
			t.Options[i] = OptionTally{Index: i, Option: o, Count: counts[i], Total: &total, Mean: &mean}
			if counts[i] > 0 {
				best = max(best, mean)
			}
		}
		for i := range t.Options {
			// Every voter scores every option, so the means share one
			// denominator and equal totals are equal means: compare exactly.
			if counts[i] > 0 && *t.Options[i].Mean == best {
				t.Leading = append(t.Leading, i)
			}
		}
		return t
	}
	return t
}

// quorumMet reports whether votes reach the quorum (no quorum: always).
func quorumMet(quorum *int, votes int) bool {
	return quorum == nil || votes >= *quorum
}

// decideOutcome is the one definition of a closed proposal's outcome.
//
//   - A quorum, when set, is a number of votes cast. With fewer votes than the
//     quorum a proposal fails, whatever its process.
//   - consent passes iff the quorum (if any) is met and nobody blocks.
//     Disagreements and abstentions are recorded and shown with their reasons,
//     but do not stop it: in consent decision-making a proposal goes ahead
//     unless someone holds a principled objection, which is what a block is.
//     So silence is consent: without a quorum, a proposal nobody voted on passes.
//   - poll and score pass iff the quorum (if any) is met and at least one vote
//     was cast (with none there is nothing chosen). The winners are the options
//     with the most choices (poll) or the highest mean score (score); ties are
//     all listed (ProposalTally.Leading).
func decideOutcome(process string, quorum *int, t ProposalTally) string {
	if !quorumMet(quorum, t.Votes) {
		return OutcomeFailed
	}
	switch process {
	case ProcessConsent:
		if t.Positions[PositionBlock] > 0 {
			return OutcomeFailed
		}
		return OutcomePassed
	default:
		if t.Votes == 0 || len(t.Leading) == 0 {
			return OutcomeFailed
		}
		return OutcomePassed
	}
}
