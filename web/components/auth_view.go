package components

import (
	"context"
	"net/url"
	"strings"

	"github.com/a-h/templ"
)

// Viewer is who is signed in, as the layout shows it.
type Viewer struct {
	Handle  string // empty when signed out
	Steward bool
	Analyst bool // may see the organisation map
}

type viewerKey struct{}

// WithViewer records the signed-in person for every component rendered with
// ctx, so the header can show them on any page without each handler passing
// them along.
func WithViewer(ctx context.Context, v Viewer) context.Context {
	return context.WithValue(ctx, viewerKey{}, v)
}

// viewerFrom is the signed-in person, or the zero Viewer.
func viewerFrom(ctx context.Context) Viewer {
	v, _ := ctx.Value(viewerKey{}).(Viewer)
	return v
}

// FieldErrors maps a form field's name to what is wrong with it.
type FieldErrors map[string]string

// SignupView is the sign-up page.
type SignupView struct {
	Page        Page
	Email       string
	Handle      string
	DisplayName string
	Invite      string
	InviteOnly  bool   // registration needs an invite
	Error       string // a problem not tied to one field
	Errors      FieldErrors
	// Claim is set when the invite is for a person a steward imported: signing
	// up makes that node theirs, so Email and Handle are theirs already and
	// cannot be changed here.
	Claim bool
}

// locked adds readonly to attrs for the fields a claim fixes (email, handle).
func (v SignupView) locked(attrs templ.Attributes) templ.Attributes {
	if v.Claim {
		attrs["readonly"] = true
	}
	return attrs
}

// handleHint says what the handle is for, or, for a claim, that it stays.
func (v SignupView) handleHint() string {
	if v.Claim {
		return "Your handle in the network already: colleagues mention you as @" + v.Handle + "."
	}
	return "2–32 lowercase letters, digits, - or _; people mention you as @handle."
}

type ssoKey struct{}

// WithSSO tells the sign-in page to offer single sign-on with the provider
// named provider. It travels in the context, like the viewer, so that the
// handlers building SigninView need not know about single sign-on.
func WithSSO(ctx context.Context, provider string) context.Context {
	return context.WithValue(ctx, ssoKey{}, provider)
}

// ssoFrom is the single sign-on provider's name, if it is on.
func ssoFrom(ctx context.Context) (string, bool) {
	p, ok := ctx.Value(ssoKey{}).(string)
	return p, ok
}

// ssoStartURL starts a single sign-on that returns to next.
func ssoStartURL(next string) string {
	if next == "" || next == "/" {
		return "/auth/oidc/start"
	}
	return "/auth/oidc/start?next=" + url.QueryEscape(next)
}

// SigninView is the sign-in page.
type SigninView struct {
	Page  Page
	Email string
	Next  string // a local path to return to after signing in
	Error string
}

// ProfileView is the page where a person edits their own profile. Skills,
// offers and needs are the text of their inputs: skills comma-separated, one
// offer or need per line with #tags.
type ProfileView struct {
	Page        Page
	Handle      string
	DisplayName string
	Title       string
	Location    string
	Bio         string
	Skills      string
	Offers      string
	Needs       string
	Saved       bool
	Errors      FieldErrors
}

// describedBy is the aria-describedby of a field: its hint and its error
// message, whichever it has.
func (e FieldErrors) describedBy(name string, hasHint bool) string {
	var ids []string
	if hasHint {
		ids = append(ids, name+"-hint")
	}
	if e[name] != "" {
		ids = append(ids, name+"-error")
	}
	return strings.Join(ids, " ")
}
