package asks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// Limits of an ask and its answers (the schema's CHECKs say the same).
const (
	MaxTitleLen  = 200
	MaxBodyLen   = 10000
	MaxAnswerLen = 10000
	MaxTags      = 10
	MaxTagLen    = 40
	// MinWidenAfter and MaxWidenAfter bound an ask's own wait before widening.
	MinWidenAfter = time.Second
	MaxWidenAfter = 30 * 24 * time.Hour
)

// Urgencies of an ask.
const (
	UrgencyLow    = "low"
	UrgencyNormal = "normal"
	UrgencyHigh   = "high"
)

// Statuses of an ask: open until the asker accepts an answer (answered) or
// closes it (closed).
const (
	StatusOpen     = "open"
	StatusAnswered = "answered"
	StatusClosed   = "closed"
)

// Statuses of a route: what the candidate did with the offer.
const (
	RouteOffered  = "offered"
	RouteDeclined = "declined"
	RouteAnswered = "answered"
	RouteReferred = "referred"
)

// Reactions to an answer.
var Reactions = []string{"thanks", "helpful", "insightful"}

// Ask is a node's need as a reader sees it.
type Ask struct {
	ID               int64                   `json:"id"`
	Asker            community.NodeRef       `json:"asker"`
	Community        *community.CommunityRef `json:"community,omitempty"`
	Title            string                  `json:"title"`
	Body             string                  `json:"body"`
	Tags             []string                `json:"tags"`
	Urgency          string                  `json:"urgency"`
	Status           string                  `json:"status"`
	AcceptedAnswerID *int64                  `json:"accepted_answer_id,omitempty"`
	// MaxHops is how far from the asker routing has reached so far.
	MaxHops     int       `json:"max_hops"`
	WidenAfter  Duration  `json:"widen_after"`
	WidenedAt   time.Time `json:"widened_at"`
	AnswerCount int       `json:"answer_count"`
	CreatedAt   time.Time `json:"created_at"`
}

// Duration is a time.Duration that reads and writes JSON as "1h30m0s".
type Duration time.Duration

// MarshalJSON writes the duration as Go's duration text.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads Go's duration text ("1h30m0s").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Route is one offer of an ask to a node: why, and how it is connected to the asker.
type Route struct {
	NodeID      int64  `json:"-"`
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
	// Reason says why it was offered, e.g. "skills: postgres; 2 hops via Ana".
	Reason string `json:"reason"`
	// Path is the introduction path: handles from the asker to the candidate.
	Path     []string  `json:"path"`
	Hops     int       `json:"hops"` // 0: not reached through the graph (passed on from outside it)
	Score    float64   `json:"score"`
	Via      string    `json:"via,omitempty"` // handle of who passed it on
	Status   string    `json:"status"`
	RoutedAt time.Time `json:"routed_at"`
}

// Answer is one answer to an ask, with its reactions.
type Answer struct {
	ID        int64             `json:"id"`
	AskID     int64             `json:"ask_id"`
	Author    community.NodeRef `json:"author"`
	Body      string            `json:"body"`
	Accepted  bool              `json:"accepted"`
	CreatedAt time.Time         `json:"created_at"`
	// Reactions counts each reaction; Mine lists the viewer's own.
	Reactions map[string]int `json:"reactions"`
	Mine      []string       `json:"my_reactions"`
}

// OfferMatch is someone's offer whose tags match a need.
type OfferMatch struct {
	Node    community.NodeRef `json:"node"`
	Body    string            `json:"body"`
	Tags    []string          `json:"tags"`
	Matched []string          `json:"matched"` // the tags it shares with the need
}

// AskInput is a new ask.
type AskInput struct {
	Title         string
	Body          string
	Tags          []string
	Urgency       string // low, normal (default) or high
	CommunitySlug string // optional: the ask belongs to this community
	// WidenAfter is how long to wait for someone to engage before routing
	// widens; zero means the default for the urgency.
	WidenAfter time.Duration
}

// CreatedAsk is a new ask and whom it was offered to.
type CreatedAsk struct {
	Ask
	RoutedTo []Route `json:"routed_to"`
}

func invalid(field, format string, args ...any) error {
	return &community.ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// NormaliseTags trims tags, lower-cases them, drops a leading '#' and
// duplicates (first seen wins), and checks each is 1–40 characters without a
// comma or control character, at most 10: the same labels as skills and offer
// tags, so they can match.
func NormaliseTags(in []string) ([]string, error) {
	out, err := community.NormaliseLabels(in, MaxTagLen, MaxTags, true)
	if err != nil {
		return nil, invalid("tags", "Tags: %s.", err)
	}
	if len(out) == 0 {
		return nil, invalid("tags", "Add at least one tag (a skill or topic), so the network can find who may help.")
	}
	return out, nil
}

func cleanText(s string) string {
	return strings.TrimSpace(strings.ToValidUTF8(s, "\uFFFD"))
}

// normalise validates the input, naming the first wrong field.
func (in *AskInput) normalise(o Options) error {
	in.Title = cleanText(in.Title)
	in.Body = cleanText(in.Body)
	if n := utf8.RuneCountInString(in.Title); n < 1 || n > MaxTitleLen {
		return invalid("title", "Give the ask a title of 1 to %d characters (this one has %d).", MaxTitleLen, n)
	}
	if n := utf8.RuneCountInString(in.Body); n > MaxBodyLen {
		return invalid("body", "The body holds at most %d characters; this one has %d.", MaxBodyLen, n)
	}
	tags, err := NormaliseTags(in.Tags)
	if err != nil {
		return err
	}
	in.Tags = tags
	in.Urgency = strings.ToLower(strings.TrimSpace(in.Urgency))
	switch in.Urgency {
	case "":
		in.Urgency = UrgencyNormal
	case UrgencyLow, UrgencyNormal, UrgencyHigh:
	default:
		return invalid("urgency", "Use low, normal or high.")
	}
	in.CommunitySlug = strings.ToLower(strings.TrimSpace(in.CommunitySlug))
	switch {
	case in.WidenAfter == 0:
		in.WidenAfter = o.widenAfterFor(in.Urgency)
	case in.WidenAfter < MinWidenAfter || in.WidenAfter > MaxWidenAfter:
		return invalid("widen_after", "Wait between %s and %s before widening.", MinWidenAfter, MaxWidenAfter)
	}
	return nil
}

func validAnswer(body string) (string, error) {
	body = cleanText(body)
	if n := utf8.RuneCountInString(body); n < 1 || n > MaxAnswerLen {
		if n == 0 {
			return "", invalid("body", "Write an answer.")
		}
		return "", invalid("body", "An answer holds at most %d characters; this one has %d.", MaxAnswerLen, n)
	}
	return body, nil
}

// wrap prefixes unexpected errors and passes the domain's own through unchanged,
// so the web layer can show their messages.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return community.ErrNotFound
	}
	var ve *community.ValidationError
	if errors.As(err, &ve) || errors.Is(err, community.ErrNotFound) || errors.Is(err, community.ErrConflict) ||
		errors.Is(err, community.ErrForbidden) || errors.Is(err, community.ErrUnauthorized) {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}
