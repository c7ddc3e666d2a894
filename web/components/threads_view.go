package components

import (
	"strconv"
	"time"
)

// ThreadItem is a feedback thread in lists (and on the dashboard).
type ThreadItem struct {
	ID            int64
	Kind          string // feedback_request, retrospective, idea, question
	Title         string
	Status        string // open, resolved
	AuthorHandle  string
	AuthorName    string
	CommunitySlug string // empty: addressed to peers
	CommunityName string
	To            []PersonLink // peers asked
	Replies       int
	Unread        int
	Seen          bool // the viewer has opened it
	AskedOfMe     bool
	Answered      bool
	Mine          bool
	DueAt         *time.Time
	CreatedAt     time.Time
}

// ThreadsView is /threads: requests to me, my threads, community threads.
type ThreadsView struct {
	Page      Page
	Asked     []ThreadItem
	Mine      []ThreadItem
	Community []ThreadItem
	Q         string       // a search, when given
	Results   []ThreadItem // its results
	Status    string       // open, resolved or "" (both)
	Error     string
}

// ThreadView is one thread's page.
type ThreadView struct {
	Page             Page
	T                ThreadItem
	Body             string
	Summary          string
	ResolvedAt       *time.Time
	IsAuthor         bool
	AnonymousAllowed bool
	Replies          []ReplyCard
	Requests         []RequestItem // the author only: who has and has not answered
	Proposals        []ResolveProposalItem
	Viewing          []PersonLink
	ViewerHandle     string
	Form             ReplyForm
	Quote            *QuoteCard // the reply the form quotes (?quote=)
	ResolveError     string
}

// RequestItem is one peer asked, as the author sees it.
type RequestItem struct {
	Who        PersonLink
	Answered   bool
	AnsweredAt *time.Time
}

// ResolveProposalItem is a proposed summary.
type ResolveProposalItem struct {
	By      PersonLink
	Summary string
}

// ReplyCard is one reply. An anonymous one has no author fields.
type ReplyCard struct {
	ID           int64
	ThreadID     int64
	AuthorHandle string
	AuthorName   string
	Anonymous    bool
	Body         string
	Quote        *QuoteCard
	CreatedAt    time.Time
	Edited       bool
	Mine         bool
	Open         bool // the thread takes replies (quote and edit links)
	Reactions    ReactionBar
}

// QuoteCard is the reply a reply quotes.
type QuoteCard struct {
	ID         int64
	AuthorName string // empty when anonymous
	Body       string
}

// ReactionBar is a reply's reactions as buttons (POST forms).
type ReactionBar struct {
	ThreadID int64
	ReplyID  int64
	Buttons  []ReactionButton
}

// ReactionButton is one reaction with its count.
type ReactionButton struct {
	Reaction string
	Label    string
	Count    int
	Pressed  bool // the viewer reacted so
}

// ReplyForm is the reply form's state after a failed post.
type ReplyForm struct {
	Body      string
	Anonymous bool
	QuoteID   int64
	Error     string
	Field     string
}

// NewThreadView is /threads/new.
type NewThreadView struct {
	Page        Page
	Form        NewThreadForm
	Communities []CommunityOption
	Kinds       []KindOption
}

// KindOption is a kind of thread in the form.
type KindOption struct{ Value, Label string }

// NewThreadForm is the "start a thread" form.
type NewThreadForm struct {
	Audience  string // community or peers
	Community string // slug
	ToHandles string // space or comma separated
	Kind      string
	Title     string
	Body      string
	DueDate   string // YYYY-MM-DD
	Errors    FieldErrors
}

// EditReplyView is the page to edit one's reply, with its earlier versions.
type EditReplyView struct {
	Page    Page
	Reply   ReplyCard
	Body    string
	Error   string
	History []ReplyEditItem
}

// ReplyEditItem is an earlier version of a reply.
type ReplyEditItem struct {
	Body     string
	EditedAt time.Time
}

// FeedbackNoticeView is the live notice that someone asks for feedback, or a
// reminder that they still wait.
type FeedbackNoticeView struct {
	ThreadID int64
	Title    string
	From     PersonLink
	Reminder bool
}

func threadURL(id int64) string { return "/threads/" + strconv.FormatInt(id, 10) }

func replyURL(threadID, replyID int64) string {
	return threadURL(threadID) + "/replies/" + strconv.FormatInt(replyID, 10)
}

func replyAnchor(id int64) string { return "reply-" + strconv.FormatInt(id, 10) }

// KindLabel names a kind of thread in words.
func KindLabel(kind string) string {
	switch kind {
	case "feedback_request":
		return "Feedback request"
	case "retrospective":
		return "Retrospective"
	case "idea":
		return "Idea"
	case "question":
		return "Question"
	}
	return kind
}

func threadWhere(t ThreadItem) string {
	if t.CommunitySlug != "" {
		return "in " + t.CommunityName
	}
	switch len(t.To) {
	case 0:
		return "to peers"
	case 1:
		return "to " + t.To[0].DisplayName
	default:
		return "to " + t.To[0].DisplayName + " and " + plural(len(t.To)-1, "other", "others")
	}
}

func dateLabel(t time.Time) string { return t.UTC().Format("2 Jan 2006") }
