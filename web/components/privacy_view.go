package components

import (
	"strconv"
	"time"
)

// PrivacyView is "Your data": the download, how long metadata is kept, and who
// viewed the signed-in person's named analytics.
type PrivacyView struct {
	Page   Page
	Now    time.Time
	Handle string
	// RetentionDays is INTERACTION_RETENTION in days as the last purge
	// enforced it; 0 before the first purge ran.
	RetentionDays int
	LastPurge     time.Time // when the last purge ran (zero: never yet)
	MinGroupSize  int
	// AboutYou are views that looked you up by handle or name.
	AboutYou []AnalyticsViewRow
	// OrgWide are the latest views and exports of everyone's named figures.
	OrgWide      []AnalyticsViewRow
	OrgWideTotal int
}

// AnalyticsViewRow is one audited view or export of named analytics.
type AnalyticsViewRow struct {
	Who   string // "Ana (@ana)", "you", or "someone whose account is gone"
	What  string // "opened your panel on the organisation map"
	Scope string // "last 90 days, everyone"
	At    time.Time
}

// privacyDays says a number of days the way people say it.
func privacyDays(n int) string {
	switch {
	case n == 365:
		return "a year (365 days)"
	case n%365 == 0:
		return strconv.Itoa(n/365) + " years (" + strconv.Itoa(n) + " days)"
	default:
		return plural(n, "day", "days")
	}
}

// privacyTotal says how many views there were and how many are listed.
func privacyTotal(total, shown int) string {
	s := plural(total, "view or export", "views and exports") + " in all"
	if total > shown {
		s += "; the latest " + plural(shown, "is", "are") + " listed"
	}
	return s + "."
}
