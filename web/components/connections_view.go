package components

import (
	"strconv"
	"time"

	"github.com/a-h/templ"
)

// ConnectionsView is the connections page of the signed-in node.
type ConnectionsView struct {
	Page        Page
	Notice      string // what the last action did, shown once after a redirect
	Form        ConnectFormView
	Incoming    []ConnectionItem // requests waiting for my answer
	Connected   []ConnectionItem // accepted, strongest first
	Outgoing    []ConnectionItem // my requests waiting for theirs
	Suggestions []SuggestionItem
	StrengthMax float64 // the top of the strength scale
	Now         time.Time
}

// ConnectFormView is the "connect with someone" form, refilled after a refusal.
type ConnectFormView struct {
	Handle string
	Kind   string
	Field  string // the field the error is about: "to_handle" or "kind"
	Error  string
}

// ConnectionItem is one connection or request as the signed-in node sees it.
type ConnectionItem struct {
	ID          int64
	Kind        string
	Handle      string
	DisplayName string
	Active      bool
	Since       time.Time // accepted, or asked for while pending
	Strength    float64
}

// SuggestionItem is someone the node often works with but is not connected to.
type SuggestionItem struct {
	Handle       string
	DisplayName  string
	Interactions int
	Last         time.Time
}

// ConnectionKind is one kind of connection offered by the forms.
type ConnectionKind struct {
	Value string
	Label string
}

// ConnectionKinds are the kinds of connection, in the order the forms offer them.
// The values are those the domain accepts (community.ConnectionKinds).
var ConnectionKinds = []ConnectionKind{
	{"collaborate", "Collaborate"},
	{"advice", "Advice"},
	{"mentor", "Mentoring"},
	{"social", "Social"},
}

func connKindLabel(kind string) string {
	for _, k := range ConnectionKinds {
		if k.Value == kind {
			return k.Label
		}
	}
	return kind
}

func connActionURL(id int64, action string) templ.SafeURL {
	return templ.SafeURL("/connections/" + strconv.FormatInt(id, 10) + "/" + action)
}

func connStrengthText(v, max float64) string {
	return strconv.FormatFloat(v, 'f', 1, 64) + " of " + strconv.FormatFloat(max, 'f', 0, 64)
}

func connFloat(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func connKindSelectID(handle string) string {
	if handle == "" {
		return "connect-kind"
	}
	return "connect-kind-" + handle
}
