package components

import (
	"fmt"
	"strconv"
	"time"

	"github.com/a-h/templ"
)

// DecisionItem is a proposal in lists ("Decisions"). (ProposalItem is a
// thread's proposed summary, in threads_view.go.)
type DecisionItem struct {
	ID                           int64
	Title, Process               string
	Status, Outcome              string // open|closed; passed|failed once closed
	CommunitySlug, CommunityName string
	AuthorHandle, AuthorName     string
	ClosesAt                     time.Time
	Votes                        int
	Voted                        bool // the viewer voted
}

// CommunityDecisions is the "Decisions" section of a community page.
type CommunityDecisions struct {
	Slug     string // the community
	IsMember bool   // members may start a decision
	Items    []DecisionItem
	Now      time.Time
}

// DecisionsView is /proposals: the decisions of the viewer's communities.
type DecisionsView struct {
	Page     Page
	Items    []DecisionItem
	Status   string // the filter: "", open or closed
	OlderURL string
	Now      time.Time
}

// DecisionForm is the "put a proposal" form.
type DecisionForm struct {
	Communities   []CommunityOption // the viewer's communities
	Community     string            // slug
	Title, Body   string
	Process       string // consent, poll or score
	Options       string // one per line
	Multiple      bool
	ClosesAt      string // datetime-local, UTC: 2006-01-02T15:04
	Quorum        string
	HiddenResults bool
	Errors        FieldErrors
}

// DecisionFormView is the page of the form.
type DecisionFormView struct {
	Page Page
	Form DecisionForm
}

// DecisionOption is one option with how it stands (when results are visible).
type DecisionOption struct {
	Index   int
	Option  string
	Count   int     // poll: choices; score: voters who scored it
	Mean    float64 // score
	Percent int     // share of voters (poll) or of the top score (score), for the bar
	Leading bool
	Mine    bool // the viewer chose it (poll)
	MyScore *int // the viewer's score (score)
}

// DecisionPosition is one consent position with its count.
type DecisionPosition struct {
	Position string
	Count    int
	Mine     bool
}

// DecisionObjection is a block or disagreement with its reason.
type DecisionObjection struct {
	Who    PersonLink
	Reason string
}

// DecisionDetail is everything the proposal page shows; the live stream
// re-renders its parts from it.
type DecisionDetail struct {
	ID                           int64
	Title, Body, Process         string
	Multiple, HiddenResults      bool
	CommunitySlug, CommunityName string
	Author                       PersonLink
	ClosesAt, CreatedAt          time.Time
	ClosedAt                     *time.Time
	Status, Outcome, Statement   string
	Members, Votes               int
	Quorum                       *int
	QuorumMet                    bool
	ResultsHidden                bool
	Positions                    []DecisionPosition // consent, when results are visible
	Options                      []DecisionOption   // poll and score (counts only when visible)
	Blocks, Disagreements        []DecisionObjection
	Winners                      []string
	NotVoted                     []PersonLink
	IsMember, CanVote, CanState  bool
	MyPosition, MyReason         string
	Voted                        bool
	Now                          time.Time
}

// DecisionPageView is the proposal page.
type DecisionPageView struct {
	Page Page
	P    DecisionDetail
	// A refused vote or statement, shown next to its form.
	VoteErrors      FieldErrors
	StatementErrors FieldErrors
	StatementDraft  string
}

func decisionURL(id int64, suffix string) templ.SafeURL {
	return templ.URL("/proposals/" + strconv.FormatInt(id, 10) + suffix)
}

func decisionIDString(id int64) string { return strconv.FormatInt(id, 10) }

func decisionProcessLabel(process string) string {
	switch process {
	case "consent":
		return "Consent"
	case "poll":
		return "Poll"
	case "score":
		return "Score vote"
	}
	return process
}

func decisionPositionLabel(p string) string {
	switch p {
	case "agree":
		return "Agree"
	case "abstain":
		return "Abstain"
	case "disagree":
		return "Disagree"
	case "block":
		return "Block"
	}
	return p
}

// decisionStatusText is the status in words: open with the time left, or the outcome.
func decisionStatusText(status, outcome string, closesAt, now time.Time) string {
	if status == "closed" {
		if outcome == "passed" {
			return "Closed · passed"
		}
		return "Closed · failed"
	}
	return "Open · closes " + decisionCountdown(closesAt, now)
}

// decisionCountdown says how long until t, in words a person reads at a glance.
func decisionCountdown(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d <= 0:
		return "now"
	case d < time.Minute:
		return "in less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("in %d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("in %dh %dmin", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("in %d days", int(d.Hours()/24))
	}
}

func decisionTime(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") }

func decisionISO(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func decisionQuorumText(p DecisionDetail) string {
	if p.Quorum == nil {
		return plural(p.Votes, "vote", "votes") + " of " + plural(p.Members, "member", "members") + " · no quorum"
	}
	met := "not met yet"
	if p.QuorumMet {
		met = "met"
	} else if p.Status == "closed" {
		met = "not met"
	}
	return fmt.Sprintf("%s of %s · quorum %d: %s", plural(p.Votes, "vote", "votes"), plural(p.Members, "member", "members"), *p.Quorum, met)
}

func decisionMean(m float64) string { return strconv.FormatFloat(m, 'f', 1, 64) }

func decisionScoreValue(s *int) string {
	if s == nil {
		return "5"
	}
	return strconv.Itoa(*s)
}

func decisionOutcomeClass(outcome string) string {
	if outcome == "passed" {
		return "proposal-outcome passed"
	}
	return "proposal-outcome failed"
}
