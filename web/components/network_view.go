package components

import (
	"strconv"
	"time"
)

// ShareCard is one share in a feed or list.
type ShareCard struct {
	ID            int64
	AuthorHandle  string
	AuthorName    string
	Audience      string // community, connections, everyone
	CommunitySlug string
	CommunityName string
	Body          string
	Tags          []string
	CreatedAt     time.Time
	Edited        bool
	Origin        *ShareOrigin // set on a reshare
	Mine          bool         // the viewer wrote it: edit and delete
	CanReshare    bool         // everyone may read it, so it may be passed on
	// Peer verification (see ShareVerification).
	Disputed, Confirmed int
	DisputedByNetwork   bool         // disputes come from more than one community
	Correction          string       // the author's correction, if any
	MyMark              string       // the viewer's verdict: disputed, confirmed or ""
	CanMark             bool         // a signed-in reader other than the author
	Reasons             []MarkReason // the marks with their reasons (on the share's page)
}

// ShareOrigin is the share a reshare passes on.
type ShareOrigin struct {
	ID           int64
	AuthorHandle string
	AuthorName   string
	Body         string
}

// CommunityOption is a community the viewer can post into.
type CommunityOption struct{ Slug, Name string }

// Composer is the share form.
type Composer struct {
	Body        string
	Audience    string
	Community   string
	Communities []CommunityOption
	Next        string // where to go after posting
	Error       string
	Field       string // the field the error is about
}

// PersonLink names a person with a link to their profile.
type PersonLink struct{ Handle, DisplayName string }

// CommunityItem is a community in lists and on its page.
type CommunityItem struct {
	Slug, Name, Purpose string
	Open, IsMember      bool
	Members             int
}

// DashboardView is a signed-in node's home: its feed, live.
type DashboardView struct {
	Page        Page
	Composer    Composer
	Feed        []ShareCard
	OlderURL    string // next page of the feed, empty at the end
	Communities []CommunityItem
	Pending     int // connection requests waiting for me
	Online      []PersonLink
	Filter      string // the active filter, in words

	// FeedbackRequests are the open threads asking me for feedback (threads.templ).
	FeedbackRequests []ThreadItem
	// Asks are the open asks offered to me (asks.templ).
	Asks []AskCard
}

// CommunitiesView is the directory of communities with the form to start one.
type CommunitiesView struct {
	Page        Page
	Communities []CommunityItem
	Form        CommunityForm
}

// CommunityForm is the "start a community" form.
type CommunityForm struct {
	Name, Slug, Purpose string
	Open                bool
	Errors              FieldErrors
}

// PurposeItem is one version of a community's purpose.
type PurposeItem struct {
	Purpose, EditedBy string
	EditedAt          time.Time
}

// CommunityView is one community's page.
type CommunityView struct {
	Page     Page
	C        CommunityItem
	Members  []PersonLink
	Online   []PersonLink
	Shares   []ShareCard
	OlderURL string
	History  []PurposeItem
	Composer Composer
	Error    string
	// Decisions is the community's proposals section (web/proposals.go).
	Decisions CommunityDecisions
}

// OfferItem is something a person offers or needs.
type OfferItem struct {
	Body string
	Tags []string
}

// PersonView is a profile page.
type PersonView struct {
	Page                    Page
	Handle, DisplayName     string
	Title, Location, Bio    string
	Skills                  []string
	Offers, Needs           []OfferItem
	Shares                  []ShareCard
	Self, Connected, Online bool
	Active                  bool
	Kudos                   KudosSection
}

// PeopleView is the people directory.
type PeopleView struct {
	Page    Page
	Q       string
	People  []PersonCard
	NextURL string
}

// SearchView is the search page.
type SearchView struct {
	Page        Page
	Q           string
	Error       string
	People      []PersonCard
	Communities []CommunityItem
	Shares      []ShareCard
}

// EditShareView is the page to edit one share.
type EditShareView struct {
	Page  Page
	Share ShareCard
	Body  string
	Error string
}

func shareURL(id int64) string { return "/shares/" + strconv.FormatInt(id, 10) }

func audienceLabel(c ShareCard) string {
	switch c.Audience {
	case "community":
		return "in " + c.CommunityName
	case "everyone":
		return "to everyone"
	default:
		return "to connections"
	}
}

// Notice is a live note on the dashboard: someone asked to connect.
type Notice struct {
	Who  PersonLink
	Kind string
}

// MarkNotice tells, live, that a share was confirmed or disputed: its author
// on every mark, everyone who reads it when the network's label changes.
type MarkNotice struct {
	ShareID  int64
	By       string // handle
	Verdict  string // disputed or confirmed; "" when a mark was removed
	Labelled bool   // the share is now disputed by the network
	Label    bool   // the label changed (on or off)
}

// ShareView is one share's page: the share, its earlier versions and how it spread.
type ShareView struct {
	Page   Page
	Share  ShareCard
	Edits  []ShareEditItem
	Spread []SpreadItem
}

// ShareEditItem is an earlier version of a share's text.
type ShareEditItem struct {
	Body     string
	EditedAt time.Time
}

// SpreadItem is one step of a share's cascade.
type SpreadItem struct {
	From, By, Community string
	At                  time.Time
}
