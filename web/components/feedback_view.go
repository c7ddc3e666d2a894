package components

import (
	"strconv"
	"time"
)

// KudosItem is one kudos in a profile's lists.
type KudosItem struct {
	ID        int64
	From, To  PersonLink
	Message   string
	Values    []string
	Public    bool
	CreatedAt time.Time
}

// KudosForm is the "give kudos" form, with what was typed when it failed.
type KudosForm struct {
	Message string
	Values  string // free text: "care, rigour"
	Public  bool
	Errors  FieldErrors
}

// KudosSection is the kudos part of a profile: what the person received and
// gave (public ones; private ones received only on one's own profile) and the
// form to thank them.
type KudosSection struct {
	Handle, DisplayName string
	CanGive             bool // someone else's profile, of an active person
	Received, Given     []KudosItem
	Form                KudosForm
}

// KudosView is the page shown when a kudos form needs correcting.
type KudosView struct {
	Page    Page
	Section KudosSection
}

// MarkReason is one current mark on a share, shown with its reason.
type MarkReason struct {
	Verdict string // disputed or confirmed
	Reason  string
	Source  string
	By      PersonLink
	At      time.Time
}

// MarkForm is the form to mark a share, with what was typed when it failed.
type MarkForm struct {
	Verdict, Reason, Source string
	Errors                  FieldErrors
}

// MarkView is the page to mark a share (shown again when a mark needs fixing).
type MarkView struct {
	Page  Page
	Share ShareCard
	Form  MarkForm
}

// CorrectionView is the page where a share's author writes a correction.
type CorrectionView struct {
	Page  Page
	Share ShareCard
	Body  string
	Error string
}

func shareIDString(id int64) string { return strconv.FormatInt(id, 10) }

// markedBy says what the viewer's own mark is, in words.
func markedBy(verdict string) string {
	if verdict == "disputed" {
		return "You dispute this share."
	}
	return "You confirmed this share."
}
