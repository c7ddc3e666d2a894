package components

import (
	"strconv"
	"strings"
	"time"
)

// AskCard is one ask in a list or at the head of its page.
type AskCard struct {
	ID            int64
	Title         string
	AskerHandle   string
	AskerName     string
	CommunitySlug string
	CommunityName string
	Tags          []string
	Urgency       string // low, normal, high
	Status        string // open, answered, closed
	Answers       int
	CreatedAt     time.Time
	// Reason is why it reached the viewer, when it was offered to them.
	Reason string
	Path   []string // the introduction path, handles from the asker
	// Offers are people's offers matching the need.
	Offers []OfferLine
}

// OfferLine is someone's offer shown next to a matching need: "Ben offers
// code review in Go".
type OfferLine struct {
	Handle, DisplayName string
	Body                string
	Tags                []string
}

// AskNotice is the live note on the dashboard: an ask was offered to the viewer.
type AskNotice struct {
	AskID      int64
	Title      string
	AskerName  string
	Reason     string
	Path       []string
	PassedOnBy string // who passed it on, if anyone
}

// AskForm is the "ask the network" form, refilled after a refusal.
type AskForm struct {
	Title       string
	Body        string
	Tags        string // comma-separated
	Urgency     string
	Community   string // slug
	Communities []CommunityOption
	Errors      FieldErrors
}

// NeedsView is the needs page: the asks offered to the viewer, unanswered
// and stale asks for everyone, asks from the viewer's communities, the
// viewer's own, and a search of what people offer.
type NeedsView struct {
	Page        Page
	Form        AskForm
	Offered     []AskCard
	Unanswered  []AskCard
	Stale       []AskCard
	Communities []AskCard
	Mine        []AskCard
	OfferQ      string
	OfferHits   []OfferLine
	Searched    bool // an offer search was made (show its empty state)
	SearchError string
}

// AnswerView is one answer on an ask's page.
type AnswerView struct {
	ID           int64
	AuthorHandle string
	AuthorName   string
	Body         string
	Accepted     bool
	CreatedAt    time.Time
	Reactions    []ReactionView
	CanAccept    bool // the viewer asked, and has accepted none yet
	CanReact     bool // not the viewer's own answer
}

// ReactionView is one kind of reaction to an answer.
type ReactionView struct {
	Name  string
	Count int
	Mine  bool
}

// RouteView is one offer of the ask: to whom, why, through whom, and what they did.
type RouteView struct {
	Handle, DisplayName string
	Reason              string
	Path                []string
	Status              string
	Via                 string
}

// AskView is one ask's page.
type AskView struct {
	Page     Page
	Ask      AskCard
	Body     string
	Answers  []AnswerView
	MyRoute  *RouteView
	RoutedTo []RouteView // for the asker
	MaxHops  int
	// What the viewer may do.
	IsAsker     bool
	CanAnswer   bool
	CanRefer    bool
	CanDecline  bool
	Connections []PersonLink // whom the viewer may pass it on to
	AnswerBody  string
	AnswerError string
	ReferTo     string
	ReferError  string
	Notice      string
}

func askURL(id int64) string { return "/asks/" + strconv.FormatInt(id, 10) }

func answerURL(ask, answer int64) string {
	return askURL(ask) + "/answers/" + strconv.FormatInt(answer, 10)
}

// pathText is an introduction path in words: "@ana → @ben → @cleo".
func pathText(path []string) string {
	out := make([]string, len(path))
	for i, h := range path {
		out[i] = "@" + h
	}
	return strings.Join(out, " → ")
}

func routeStatus(status string) string {
	switch status {
	case "offered":
		return "not answered yet"
	case "declined":
		return "declined"
	case "answered":
		return "answered"
	case "referred":
		return "passed it on"
	}
	return status
}
