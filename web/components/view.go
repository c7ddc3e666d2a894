// Package components holds the templ views of the web package. Components take
// view models defined here, never database rows, so they can be rendered in tests
// and by any handler.
package components

import (
	"fmt"
	"time"
)

// Page is what the base layout needs to know about the page it wraps.
type Page struct {
	Title    string // shown in the tab, before " · Node Community"
	Nav      string // which navigation entry is current: "home", "cluster"
	Instance string // the instance that rendered the page
}

// Member is one live server instance, for the cluster page.
type Member struct {
	Name      string
	HTTPAddr  string
	StartedAt time.Time
	LastSeen  time.Time
	Clients   int
	Self      bool // the instance rendering the page
}

// ClusterView is the cluster page.
type ClusterView struct {
	Page    Page
	Members []Member
	Now     time.Time
}

// HomeView is the home page: an overview of the network.
type HomeView struct {
	Page        Page
	People      int
	Communities int
	Connections int
	Instances   int
	Largest     []CommunityCard
	Connected   []PersonCard
}

// CommunityCard is one community on the home page.
type CommunityCard struct {
	Slug, Name, Purpose string
	Members             int
}

// PersonCard is one person on the home page.
type PersonCard struct {
	Handle, DisplayName string
	Skills              []string
	Connections         int
}

// ErrorView is a full-page error (404, 500, 503).
type ErrorView struct {
	Page    Page
	Status  int
	Heading string
	Message string
}

// ago renders how long ago t was, in words a person reads at a glance.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < 2*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func current(p Page, nav string) string {
	if p.Nav == nav {
		return "page"
	}
	return ""
}
