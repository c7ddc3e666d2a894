package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// Session values: the signed-in node's id, and its session epoch at sign-in
// (community.Store.SessionEpoch).
const (
	sessionNodeKey  = "node_id"
	sessionEpochKey = "epoch"
)

// maxFormBody bounds the sign-up, sign-in and profile forms.
const maxFormBody = 64 << 10

type tokenKey struct{}

// withTokenID records which access token authenticated the request, so that
// logout can revoke exactly that one.
func withTokenID(ctx context.Context, id int64) context.Context {
	return context.WithValue(ctx, tokenKey{}, id)
}

func currentTokenID(r *http.Request) (int64, bool) {
	id, ok := r.Context().Value(tokenKey{}).(int64)
	return id, ok
}

// sessionless paths never read or write a session: static files and probes
// must not cost a database round trip, and /readyz must answer while
// PostgreSQL is down.
func sessionless(path string) bool {
	return strings.HasPrefix(path, "/static/") || path == "/healthz" || path == "/readyz"
}

// authenticate resolves the signed-in node, from an Authorization: Bearer
// access token or else from the browser session, and records it with withNode
// (and the viewer for the page header). A bearer token that does not work is
// answered with 401 at once, rather than silently treated as signed out. Every
// request also carries its client address for the audit log, and every answer
// of 401 or 403 below is recorded there (auditDenials).
//
// A browser session is valid while its node is active and the node's session
// epoch is the one the session began with: signing out everywhere and
// deactivation raise the epoch, which ends every session on every instance at
// the next request, whatever a request in flight saves.
//
// A bearer token this instance resolved in the last TokenFreshFor is taken
// from its cache while it hears every credential change (CredentialsChanged);
// while PostgreSQL is unreachable, one resolved in the last TokenCacheTTL is,
// so that live streams keep resuming from JetStream (writes still fail with
// 503 in their handlers). web/tokencache.go documents both trade-offs.
func (s *Server) authenticate(next http.Handler) http.Handler {
	tokens := s.tokens
	next = s.auditDenials(next)
	resolve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if token, ok := bearerToken(r); ok {
			n, id, fresh := tokens.fresh(token)
			var err error
			if !fresh {
				gen := tokens.generation()
				n, id, err = s.d.Store.NodeByAccessToken(ctx, token)
				if err == nil {
					tokens.put(gen, token, n, id)
				}
			}
			switch {
			case err == nil:
			case errors.Is(err, community.ErrUnauthorized):
				tokens.forget(token)
				s.recordDenial(r.WithContext(ctx), http.StatusUnauthorized, "bad_token")
				s.fail(w, r, http.StatusUnauthorized, "The access token is unknown or revoked, or its account is deactivated.")
				return
			case unavailable(err):
				cached, cachedID, ok := tokens.get(token)
				if !ok {
					s.failErr(w, r, err)
					return
				}
				s.d.Logger.Debug("database unavailable; token from cache", "path", r.URL.Path, "node", cached.ID)
				n, id = cached, cachedID
			default:
				s.failErr(w, r, err)
				return
			}
			ctx = withTokenID(withNode(ctx, n), id)
		} else if s.d.Sessions != nil {
			if id := s.d.Sessions.GetInt64(ctx, sessionNodeKey); id != 0 {
				n, err := s.d.Store.SessionNode(ctx, id, s.d.Sessions.GetInt64(ctx, sessionEpochKey))
				switch {
				case err == nil:
					ctx = withNode(ctx, n)
				case errors.Is(err, community.ErrUnauthorized):
					// Deactivated, or signed out everywhere, since signing
					// in: the session ends here.
					_ = s.d.Sessions.Destroy(ctx)
				default:
					s.failErr(w, r, err)
					return
				}
			}
		}
		if n, ok := nodeFrom(ctx); ok {
			ctx = components.WithViewer(ctx, components.Viewer{Handle: n.Handle, Steward: n.Steward, Analyst: n.PeopleAnalyst})
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
	h := http.Handler(resolve)
	if s.d.Sessions != nil {
		// The session store is PostgreSQL: a failure there is ours, answered in
		// the API's or the site's own error format instead of scs's plain text.
		s.d.Sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
			s.d.Logger.Error("session store", "path", r.URL.Path, "err", err)
			s.fail(w, r, http.StatusServiceUnavailable, "Sessions cannot be read right now. Try again in a moment.")
		}
		h = s.d.Sessions.LoadAndSave(resolve)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sessionless(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r.WithContext(withUserAgent(audit.WithAddress(r.Context(), clientAddress(r)), r.UserAgent())))
	})
}

func nodeFrom(ctx context.Context) (community.Node, bool) {
	n, ok := ctx.Value(nodeKey{}).(community.Node)
	return n, ok
}

// bearerToken is the token of an "Authorization: Bearer …" header, if any.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// signIn starts a browser session for n with a fresh session token, so that a
// token planted before signing in (session fixation) is worth nothing, and a
// fresh absolute lifetime (SESSION_LIFETIME). The session records the node's
// session epoch: ending every session of the node raises it.
func (s *Server) signIn(ctx context.Context, n community.Node) error {
	if s.d.Sessions == nil {
		return nil
	}
	epoch, err := s.d.Store.SessionEpoch(ctx, n.ID)
	if err != nil {
		return err
	}
	if err := s.d.Sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.d.Sessions.Put(ctx, sessionNodeKey, n.ID)
	s.d.Sessions.Put(ctx, sessionEpochKey, epoch)
	// Where the session began, for the person's list of sessions
	// (web/sessions_page.go).
	return s.d.Store.StartSession(ctx, s.d.Sessions.Token(ctx), n.ID, audit.AddressFrom(ctx), userAgentFrom(ctx))
}

// endSession signs the browser out: the session row is deleted and the cookie
// expired. Without a session there is nothing to end (and no cookie to send).
func (s *Server) endSession(ctx context.Context) error {
	if s.d.Sessions == nil || !s.d.Sessions.Exists(ctx, sessionNodeKey) {
		return nil
	}
	return s.d.Sessions.Destroy(ctx)
}

// AuthNotifier tells every instance, this one included, that sessions or
// tokens of a node ended (implemented over NATS by bus.AuthNotices).
type AuthNotifier interface {
	Publish(bus.AuthEnded) error
}

// ended acts on sessions or tokens of a node that ended here, on this instance
// at once and on the others through Deps.AuthNotices. The database already
// refuses the ended credentials everywhere; the notice makes every instance
// close the node's live streams and forget its cached tokens now, instead of
// when the stream's client next asks.
func (s *Server) ended(e bus.AuthEnded) {
	e.From = s.d.Instance
	s.act(e)
	if s.d.AuthNotices == nil {
		return
	}
	if err := s.d.AuthNotices.Publish(e); err != nil {
		// The others find out at the next database lookup of the credential.
		s.d.Logger.Warn("auth notice not sent", "node", e.Node, "err", err)
	}
}

// AuthEnded acts on a notice from any instance (bus.SubjectAuthEnded): the
// node's cached tokens are forgotten (or the one token revoked) and its live
// streams on this instance are closed: the streams opened with a revoked
// token, or every stream of the node when all its credentials ended.
func (s *Server) AuthEnded(e bus.AuthEnded) {
	if e.From == s.d.Instance {
		return // acted on when it happened
	}
	s.act(e)
}

// CredentialsChanged is told of every committed change to a node's
// credentials or profile, on any instance (community.Store.WatchCredentials):
// its cached tokens are looked up again.
func (s *Server) CredentialsChanged(node int64) { s.tokens.forgetNode(node) }

// WatchingCredentials is told whether CredentialsChanged hears every change
// now: only then may a cached token stand in for the database.
func (s *Server) WatchingCredentials(on bool) { s.tokens.watching(on) }

func (s *Server) act(e bus.AuthEnded) {
	// Everything cached of the node is looked up again, whatever ended: a
	// signed-out browser session is not cached under the ended id, and the
	// database's notice of the change may come after the streams end here.
	s.tokens.forgetNode(e.Node)
	// One revoked token ends only the streams opened with it; anything wider
	// (sign-out, everywhere, deactivation) ends every stream of the node.
	if e.TokenID != 0 && !e.All {
		if n := s.EndTokenStreams(e.Node, e.TokenID); n > 0 {
			s.d.Logger.Debug("live streams ended: token revoked", "node", e.Node, "streams", n)
		}
		return
	}
	if n := s.EndNodeStreams(e.Node); n > 0 {
		s.d.Logger.Debug("live streams ended: sessions ended", "node", e.Node, "streams", n)
	}
}

func (s *Server) openRegistration() bool { return s.d.Registration == "open" }

func (s *Server) mountAuth(r chi.Router) {
	// Password sign-ins are limited per client address, across instances
	// (web/ratelimit.go); sign-up is not: see SigninAddressLimit.
	limit := s.signinLimiter()
	r.Post("/api/v1/signup", s.apiSignup)
	r.With(limit).Post("/api/v1/login", s.apiLogin)
	r.Post("/api/v1/logout", s.apiLogout)
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Get("/api/v1/me", s.apiMe)
		r.Patch("/api/v1/me", s.apiUpdateMe)
		r.Post("/api/v1/tokens", s.apiCreateToken)
		r.Get("/api/v1/tokens", s.apiListTokens)
		r.Delete("/api/v1/tokens/{id}", s.apiRevokeToken)
		r.Get("/settings/profile", s.profilePage)
		r.Post("/settings/profile", s.saveProfile)
		s.mountPassword(r)
		r.Group(func(r chi.Router) {
			r.Use(s.requireSteward)
			r.Post("/api/v1/invites", s.apiCreateInvite)
			r.Post("/api/v1/nodes/{handle}/steward", s.apiGrantSteward)
			r.Post("/api/v1/nodes/{handle}/deactivate", s.apiDeactivate)
		})
	})
	r.Get("/signup", s.signupPage)
	r.Post("/signup", s.signupSubmit)
	r.Get("/signin", s.signinPage)
	r.With(limit).Post("/signin", s.signinSubmit)
	r.Post("/signout", s.signout)
}

// --- JSON API ---

type signupRequest struct {
	Email       string `json:"email"`
	Password    string `json:"password"`
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
	Invite      string `json:"invite"`
}

func (s *Server) apiSignup(w http.ResponseWriter, r *http.Request) {
	var req signupRequest
	if !s.decodeJSON(w, r, &req) {
		return
	}
	// API clients authenticate with tokens; no browser session is started.
	n, token, err := s.d.Store.CreateAccountWithToken(r.Context(), community.SignupInput{
		Email: req.Email, Password: req.Password, Handle: req.Handle, DisplayName: req.DisplayName,
		Invite: req.Invite, RequireInvite: !s.openRegistration(), BannedWords: s.d.PasswordBannedWords,
	}, "sign-up")
	if err != nil {
		s.failAccount(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, map[string]any{"node": n, "token": token})
}

// failAccount is failErr with the invite errors told apart, so people learn
// what to do.
func (s *Server) failAccount(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, community.ErrInviteRequired):
		s.failField(w, r, http.StatusForbidden, "invite", "This organisation joins by invitation: ask a steward for an invite link.")
	case errors.Is(err, community.ErrInviteInvalid):
		s.failField(w, r, http.StatusForbidden, "invite", "This invite is unknown, used, expired or for another email address: ask a steward for a new one.")
	default:
		s.failErr(w, r, err)
	}
}

const badCredentials = "The email or the password is wrong."

func (s *Server) apiLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	n, err := s.d.Store.SignIn(r.Context(), req.Email, req.Password)
	var delayed *community.ThrottledError
	switch {
	case errors.As(err, &delayed):
		s.tooMany(w, r, delayed.RetryAfter, accountDelayMessage(delayed.RetryAfter))
		return
	case errors.Is(err, community.ErrUnauthorized):
		s.fail(w, r, http.StatusUnauthorized, badCredentials)
		return
	case err != nil:
		s.failErr(w, r, err)
		return
	}
	_, token, err := s.d.Store.CreateAccessToken(r.Context(), n.ID, "sign-in "+time.Now().UTC().Format("2006-01-02"))
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if err := s.signIn(r.Context(), n); err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"token": token})
}

// apiLogout ends the session and revokes the bearer token the request came
// with; with {"everywhere": true} it ends every session and revokes every
// token of the node, on every instance. Logging out twice is not an error.
func (s *Server) apiLogout(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Everywhere bool `json:"everywhere"`
	}
	// The body is optional: a plain logout needs no fields.
	if r.ContentLength != 0 && !s.decodeJSON(w, r, &req) {
		return
	}
	n, signedIn := currentNode(r)
	if req.Everywhere {
		if !signedIn {
			s.fail(w, r, http.StatusUnauthorized, "Sign in first: signing out everywhere needs to know who you are.")
			return
		}
		if !s.signOutEverywhere(w, r, n) {
			return
		}
		clearSite(w)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	tokenID, byToken := currentTokenID(r)
	if byToken {
		if err := s.d.Store.RevokeAccessToken(r.Context(), n.ID, tokenID); err != nil && !errors.Is(err, community.ErrNotFound) {
			s.failErr(w, r, err)
			return
		}
	}
	if err := s.endSession(r.Context()); err != nil {
		s.failErr(w, r, err)
		return
	}
	if signedIn {
		s.record(r, audit.ActionSignout, map[string]any{"token": tokenID})
		s.ended(bus.AuthEnded{Node: n.ID, TokenID: tokenID})
	}
	clearSite(w)
	w.WriteHeader(http.StatusNoContent)
}

// signOutEverywhere ends every session and token of n (this browser's session
// too) and tells every instance. On failure it has answered.
func (s *Server) signOutEverywhere(w http.ResponseWriter, r *http.Request, n community.Node) bool {
	if err := s.d.Store.EndSessions(r.Context(), n.ID); err != nil {
		s.failErr(w, r, err)
		return false
	}
	// The row is gone already; this expires the cookie.
	_ = s.endSession(r.Context())
	s.ended(bus.AuthEnded{Node: n.ID, All: true})
	return true
}

func (s *Server) apiCreateToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !s.decodeJSON(w, r, &req) {
		return
	}
	n, _ := currentNode(r)
	id, token, err := s.d.Store.CreateAccessToken(r.Context(), n.ID, req.Name)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, map[string]any{"id": id, "token": token})
}

func (s *Server) apiListTokens(w http.ResponseWriter, r *http.Request) {
	n, _ := currentNode(r)
	list, err := s.d.Store.ListAccessTokens(r.Context(), n.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	if list == nil {
		list = []community.AccessToken{}
	}
	s.writeJSON(w, http.StatusOK, map[string]any{"tokens": list})
}

func (s *Server) apiRevokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "There is no such token.")
		return
	}
	n, _ := currentNode(r)
	if err := s.d.Store.RevokeAccessToken(r.Context(), n.ID, id); err != nil {
		s.failErr(w, r, err)
		return
	}
	s.ended(bus.AuthEnded{Node: n.ID, TokenID: id})
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) apiCreateInvite(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	// The body is optional: an invite for anyone needs no fields.
	if r.ContentLength != 0 && !s.decodeJSON(w, r, &req) {
		return
	}
	n, _ := currentNode(r)
	inv, err := s.d.Store.CreateInvite(r.Context(), n.ID, req.Email)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, map[string]any{
		"token": inv.Token, "url": "/signup?invite=" + url.QueryEscape(inv.Token), "expires_at": inv.ExpiresAt,
	})
}

func (s *Server) apiGrantSteward(w http.ResponseWriter, r *http.Request) {
	n, _ := currentNode(r)
	if err := s.d.Store.GrantSteward(r.Context(), n.ID, chi.URLParam(r, "handle")); err != nil {
		s.failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiDeactivate ends a node's access; the store deletes its sessions and
// revokes its tokens, and every instance closes its live streams.
func (s *Server) apiDeactivate(w http.ResponseWriter, r *http.Request) {
	n, _ := currentNode(r)
	handle := chi.URLParam(r, "handle")
	if err := s.d.Store.Deactivate(r.Context(), n.ID, handle); err != nil {
		s.failErr(w, r, err)
		return
	}
	target, err := s.d.Store.FindNodeByHandle(r.Context(), strings.TrimPrefix(strings.TrimSpace(handle), "@"))
	if err != nil {
		// Deactivated all the same: the other instances refuse it at the
		// next lookup, without the notice.
		s.d.Logger.Warn("deactivated node not found for the notice", "handle", handle, "err", err)
	} else {
		s.ended(bus.AuthEnded{Node: target.ID, All: true})
	}
	w.WriteHeader(http.StatusNoContent)
}

// --- pages ---

// parseForm reads a form body of bounded size; on failure it has answered.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.fail(w, r, http.StatusRequestEntityTooLarge, "The form is larger than 64 KiB.")
			return false
		}
		s.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	return true
}

func (s *Server) signupView(r *http.Request) components.SignupView {
	return components.SignupView{
		Page:       s.page("Sign up", "signup"),
		InviteOnly: !s.openRegistration(),
		Invite:     r.FormValue("invite"),
		Errors:     components.FieldErrors{},
	}
}

// applyInvite fills in what the invite of v says: the email it is for and,
// when that is a person a steward imported, their handle and name, marking
// the sign-up as a claim. An unusable invite changes nothing: submitting the
// form says what is wrong with it.
func (s *Server) applyInvite(ctx context.Context, v *components.SignupView) error {
	if v.Invite == "" {
		return nil
	}
	d, err := s.d.Store.FindInvite(ctx, v.Invite)
	if errors.Is(err, community.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Email != "" && (v.Email == "" || d.Claim) {
		v.Email = d.Email
	}
	if d.Claim {
		v.Claim, v.Handle = true, d.Handle
		if v.DisplayName == "" {
			v.DisplayName = d.DisplayName
		}
	}
	return nil
}

func (s *Server) signupPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := currentNode(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	v := s.signupView(r)
	if err := s.applyInvite(r.Context(), &v); err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, components.SignupPage(v))
}

func (s *Server) signupSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	v := s.signupView(r)
	v.Email, v.Handle, v.DisplayName = r.PostFormValue("email"), r.PostFormValue("handle"), r.PostFormValue("display_name")
	n, err := s.d.Store.CreateAccount(r.Context(), community.SignupInput{
		Email: v.Email, Password: r.PostFormValue("password"), Handle: v.Handle, DisplayName: v.DisplayName,
		Invite: v.Invite, RequireInvite: !s.openRegistration(), BannedWords: s.d.PasswordBannedWords,
	})
	if err == nil {
		err = s.signIn(r.Context(), n)
	}
	if err == nil {
		// A new profile is empty: the profile page is the natural next step.
		http.Redirect(w, r, "/settings/profile", http.StatusSeeOther)
		return
	}
	var ve *community.ValidationError
	status := http.StatusUnprocessableEntity
	switch {
	case errors.As(err, &ve):
		v.Errors[ve.Field] = ve.Message
	case errors.Is(err, community.ErrConflict):
		status = http.StatusConflict
		v.Errors[community.ConflictField(err)] = err.Error()
	case errors.Is(err, community.ErrInviteRequired), errors.Is(err, community.ErrInviteInvalid):
		status = http.StatusForbidden
		v.InviteOnly = true // show the invite field so it can be corrected
		v.Errors["invite"] = "This invite is missing, unknown, used, expired or for another email address. Ask a steward for a new one."
		if errors.Is(err, community.ErrInviteRequired) {
			v.Errors["invite"] = "This organisation joins by invitation: paste the invite code a steward sent you."
		}
	default:
		s.failErr(w, r, err)
		return
	}
	if v.Errors[""] != "" {
		v.Error = v.Errors[""]
	}
	// Shown again, a claim keeps the email and handle the invite fixes (the
	// form has them read-only, so a different value could not be corrected).
	if err := s.applyInvite(r.Context(), &v); err != nil {
		s.failErr(w, r, err)
		return
	}
	s.render(w, r, status, components.SignupPage(v))
}

// safeNext returns next when it is a path on this site, and "/" otherwise, so
// that the sign-in form cannot be used to send people elsewhere ("//evil",
// "https://evil", "/\evil").
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := currentNode(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	if next == "/" {
		next = ""
	}
	s.render(w, r, http.StatusOK, components.SigninPage(components.SigninView{Page: s.page("Sign in", "signin"), Next: next}))
}

func (s *Server) signinSubmit(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	next := safeNext(r.PostFormValue("next"))
	email := r.PostFormValue("email")
	n, err := s.d.Store.SignIn(r.Context(), email, r.PostFormValue("password"))
	var delayed *community.ThrottledError
	switch {
	case errors.As(err, &delayed):
		s.tooMany(w, r, delayed.RetryAfter, accountDelayMessage(delayed.RetryAfter))
		return
	case errors.Is(err, community.ErrUnauthorized):
		s.renderSignin(w, r, http.StatusUnauthorized, badCredentials)
		return
	case err == nil:
		err = s.signIn(r.Context(), n)
	}
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// renderSignin shows the sign-in form again with an error, keeping the email
// and where to go after (the form has been parsed).
func (s *Server) renderSignin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	next := safeNext(r.PostFormValue("next"))
	if next == "/" {
		next = ""
	}
	s.render(w, r, status, components.SigninPage(components.SigninView{
		Page: s.page("Sign in", "signin"), Email: r.PostFormValue("email"), Next: next, Error: msg,
	}))
}

// signout ends this browser's session, or with everywhere=1 every session and
// token of the node, on every instance.
func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	n, signedIn := currentNode(r)
	if signedIn && r.PostFormValue("everywhere") != "" {
		if s.signOutEverywhere(w, r, n) {
			clearSite(w)
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
		return
	}
	if err := s.endSession(r.Context()); err != nil {
		s.failErr(w, r, err)
		return
	}
	if signedIn {
		s.record(r, audit.ActionSignout, nil)
		s.ended(bus.AuthEnded{Node: n.ID})
	}
	clearSite(w)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
