package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-chi/chi/v5"
	"golang.org/x/oauth2"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// SSO configures single sign-on with an OpenID Connect provider (the OIDC_*
// variables). The provider is discovered on first use and the result kept,
// so an issuer that is down when the server starts costs only the sign-ins
// tried while it is down, not the start.
type SSO struct {
	Issuer       string
	ClientID     string
	ClientSecret string   // empty for a public client: PKCE alone then protects the code
	RedirectURL  string   // this site's /auth/oidc/callback, as registered at the provider
	EmailDomains []string // only verified emails at these domains sign in or are created
	ProviderName string   // "Sign in with …"
	// Client talks to the provider (discovery, keys, code exchange); nil: one
	// with a 10 s timeout. Redirects are never followed, whatever its
	// CheckRedirect says (see client).
	Client *http.Client

	mu sync.Mutex
	rp *relyingParty // nil until discovery succeeded
}

// relyingParty is what discovery gives: where to send people and how to check
// what comes back.
type relyingParty struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// ssoFlowTTL bounds the time between leaving for the provider and coming back.
const ssoFlowTTL = 10 * time.Minute

// ssoDiscoveryTimeout bounds one attempt at fetching the provider's metadata.
const ssoDiscoveryTimeout = 10 * time.Second

// sessionSSOKey holds the pending sign-in (ssoFlow as JSON) in the session,
// which every instance reads from PostgreSQL: the provider may send the
// person back to another instance than the one they left from.
const sessionSSOKey = "oidc_flow"

// ssoFlow is one sign-in on its way through the provider. State ties the
// answer to this browser (login CSRF), Nonce ties the ID token to this
// sign-in (replay), Verifier is the PKCE secret the code is useless without.
type ssoFlow struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Next     string    `json:"next"`
	Started  time.Time `json:"started"`
}

// client is the HTTP client for every call to the provider. It never follows
// a redirect (ASVS 15.3.2): discovery, the key set and the token endpoint are
// named by the issuer and its discovery document, and a 3xx from any of them
// could send the client secret, the code or the PKCE verifier to a host
// nobody configured. A redirect is answered as the failure it is.
func (c *SSO) client() *http.Client {
	cl := http.Client{Timeout: 10 * time.Second}
	if c.Client != nil {
		cl = *c.Client
	}
	cl.CheckRedirect = refuseRedirects
	return &cl
}

// refuseRedirects makes an http.Client return a 3xx answer as it is.
func refuseRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// relyingParty discovers the provider once; a failed attempt is not kept, so
// the next sign-in tries again. Concurrent callers wait for one attempt.
func (c *SSO) relyingParty(ctx context.Context) (*relyingParty, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rp != nil {
		return c.rp, nil
	}
	ctx, cancel := context.WithTimeout(ctx, ssoDiscoveryTimeout)
	defer cancel()
	// The provider keeps the client (not ctx's deadline) for fetching its
	// signing keys later.
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, c.client()), c.Issuer)
	if err != nil {
		return nil, err
	}
	c.rp = &relyingParty{
		oauth: oauth2.Config{
			ClientID:     c.ClientID,
			ClientSecret: c.ClientSecret,
			RedirectURL:  c.RedirectURL,
			Endpoint:     p.Endpoint(),
			Scopes:       []string{oidc.ScopeOpenID, "email", "profile"},
		},
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID}),
	}
	return c.rp, nil
}

// WarmSSO discovers the provider ahead of the first sign-in. A failure is
// only logged: the first sign-in tries again.
func (s *Server) WarmSSO(ctx context.Context) {
	if s.d.SSO == nil {
		return
	}
	if _, err := s.d.SSO.relyingParty(ctx); err != nil {
		s.d.Logger.Warn("single sign-on provider not reachable; retrying at the first sign-in", "issuer", s.d.SSO.Issuer, "err", err)
		return
	}
	s.d.Logger.Info("single sign-on provider discovered", "issuer", s.d.SSO.Issuer)
}

// offerSSO tells the sign-in page to offer single sign-on, when it is on.
func (s *Server) offerSSO(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.d.SSO != nil && r.URL.Path == "/signin" {
			r = r.WithContext(components.WithSSO(r.Context(), s.d.SSO.ProviderName))
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) mountOIDC(r chi.Router) {
	r.Get("/auth/oidc/start", s.ssoStart)
	r.Get("/auth/oidc/callback", s.ssoCallback)
}

// ssoStart sends the browser to the provider, remembering in the session what
// the answer must match.
func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	if s.d.SSO == nil || s.d.Sessions == nil {
		s.notFound(w, r)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if _, ok := currentNode(r); ok {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	rp, err := s.d.SSO.relyingParty(r.Context())
	if err != nil {
		s.d.Logger.Warn("single sign-on provider not reachable", "issuer", s.d.SSO.Issuer, "err", err)
		w.Header().Set("Retry-After", "30")
		s.fail(w, r, http.StatusServiceUnavailable, s.d.SSO.ProviderName+" cannot be reached right now. Try again in a minute, or sign in with your email and password.")
		return
	}
	flow := ssoFlow{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Next: next, Started: time.Now()}
	b, _ := json.Marshal(flow) // a struct of strings and a time: cannot fail
	s.d.Sessions.Put(r.Context(), sessionSSOKey, string(b))
	http.Redirect(w, r, rp.oauth.AuthCodeURL(flow.State, oidc.Nonce(flow.Nonce), oauth2.S256ChallengeOption(flow.Verifier)), http.StatusFound)
}

// ssoCallback takes the provider's answer: it checks the state, exchanges the
// code (with the PKCE verifier), verifies the ID token (signature, issuer,
// audience, expiry, nonce), and signs in as the node of the identity, linked
// or created as community.Store.SignInExternal decides.
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if s.d.SSO == nil || s.d.Sessions == nil {
		s.notFound(w, r)
		return
	}
	name := s.d.SSO.ProviderName
	ctx := r.Context()
	// The pending sign-in is used up whatever happens next: a code or state
	// can be tried once.
	raw := s.d.Sessions.PopString(ctx, sessionSSOKey)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		s.ssoFail(w, r, http.StatusForbidden, name+" did not sign you in ("+providerError(e)+"). Try again from the sign-in page.", "provider_error", e)
		return
	}
	var flow ssoFlow
	if raw == "" || json.Unmarshal([]byte(raw), &flow) != nil || time.Since(flow.Started) > ssoFlowTTL {
		s.ssoFail(w, r, http.StatusBadRequest, "This sign-in has expired or was already used, or was started in another browser. Start again from the sign-in page.", "no_flow", "")
		return
	}
	if state := q.Get("state"); state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(flow.State)) != 1 {
		s.ssoFail(w, r, http.StatusBadRequest, "This sign-in answer does not belong to the sign-in this browser started. Start again from the sign-in page.", "state_mismatch", "")
		return
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		s.ssoFail(w, r, http.StatusBadRequest, name+" sent no usable sign-in code. Start again from the sign-in page.", "no_code", "")
		return
	}
	rp, err := s.d.SSO.relyingParty(ctx)
	if err != nil {
		s.d.Logger.Warn("single sign-on provider not reachable", "issuer", s.d.SSO.Issuer, "err", err)
		w.Header().Set("Retry-After", "30")
		s.fail(w, r, http.StatusServiceUnavailable, name+" cannot be reached right now. Try again in a minute.")
		return
	}
	pctx := context.WithValue(ctx, oauth2.HTTPClient, s.d.SSO.client())
	token, err := rp.oauth.Exchange(pctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			s.ssoFail(w, r, http.StatusBadRequest, name+" did not accept the sign-in code. Start again from the sign-in page.", "exchange_refused", re.ErrorCode)
			return
		}
		s.d.Logger.Warn("single sign-on code exchange failed", "issuer", s.d.SSO.Issuer, "err", err)
		w.Header().Set("Retry-After", "30")
		s.fail(w, r, http.StatusServiceUnavailable, name+" cannot be reached right now. Try again in a minute.")
		return
	}
	rawID, _ := token.Extra("id_token").(string)
	if rawID == "" {
		s.ssoFail(w, r, http.StatusBadRequest, name+" sent no identity token. Start again from the sign-in page.", "no_id_token", "")
		return
	}
	idToken, err := rp.verifier.Verify(pctx, rawID)
	if err != nil {
		s.ssoFail(w, r, http.StatusForbidden, "The identity "+name+" sent could not be verified, so you are not signed in. Start again from the sign-in page.", "id_token_invalid", err.Error())
		return
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(flow.Nonce)) != 1 {
		s.ssoFail(w, r, http.StatusForbidden, "The identity "+name+" sent was not issued for this sign-in, so you are not signed in. Start again from the sign-in page.", "nonce_mismatch", "")
		return
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified any    `json:"email_verified"`
		Name          string `json:"name"`
	}
	if err := idToken.Claims(&claims); err != nil {
		s.ssoFail(w, r, http.StatusBadRequest, "The identity "+name+" sent could not be read. Start again from the sign-in page.", "claims_unreadable", err.Error())
		return
	}
	n, outcome, err := s.d.Store.SignInExternal(ctx, community.ExternalIdentity{
		Issuer: idToken.Issuer, Subject: idToken.Subject, Email: claims.Email,
		EmailVerified: verifiedClaim(claims.EmailVerified), Name: claims.Name,
	}, s.d.SSO.EmailDomains)
	if err != nil {
		s.ssoRefused(w, r, err)
		return
	}
	if err := s.signIn(ctx, n); err != nil {
		s.failErr(w, r, err)
		return
	}
	s.d.Logger.Info("signed in with single sign-on", "node", n.ID, "outcome", outcome.String())
	s.recordSSO(r, n.ID, audit.ActionSignin, map[string]any{"method": "oidc", "outcome": outcome.String()})
	next := flow.Next
	if outcome == community.SSOCreated && next == "/" {
		// A new profile is empty: the profile page is the natural next step,
		// as after a sign-up.
		next = "/settings/profile"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// ssoRefused says why the identity may not sign in.
func (s *Server) ssoRefused(w http.ResponseWriter, r *http.Request, err error) {
	domains := strings.Join(s.d.SSO.EmailDomains, ", ")
	var ve *community.ValidationError
	switch {
	case errors.Is(err, community.ErrEmailUnverified):
		s.ssoFail(w, r, http.StatusForbidden, s.d.SSO.ProviderName+" has not verified your email address, so it cannot show who you are here. Verify it there, then sign in again.", "email_unverified", "")
	case errors.Is(err, community.ErrEmailDomain):
		s.ssoFail(w, r, http.StatusForbidden, "Only people with an email address at "+domains+" can sign in here. Sign in to "+s.d.SSO.ProviderName+" with your work account.", "email_domain", "")
	case errors.Is(err, community.ErrNodeDeactivated):
		s.ssoFail(w, r, http.StatusForbidden, "Your node is deactivated, so you cannot sign in. Ask a steward if this is a mistake.", "deactivated", "")
	case errors.Is(err, community.ErrIdentityLinkedElsewhere):
		s.ssoFail(w, r, http.StatusForbidden, "The node with your email address is already linked to another "+s.d.SSO.ProviderName+" account. Ask a steward.", "linked_elsewhere", "")
	case errors.As(err, &ve):
		s.ssoFail(w, r, http.StatusBadRequest, ve.Message, "claims_invalid", ve.Field)
	default:
		s.failErr(w, r, err)
	}
}

// ssoFail answers a refused single sign-on with a page saying what happened,
// logs the reason (and the detail, which is not for the page) once, and
// records the failed sign-in in the audit log.
func (s *Server) ssoFail(w http.ResponseWriter, r *http.Request, status int, message, reason, detail string) {
	s.d.Logger.Info("single sign-on refused", "reason", reason, "detail", detail)
	s.recordSSO(r, 0, audit.ActionSigninFailed, map[string]any{"method": "oidc", "reason": reason})
	s.fail(w, r, status, message)
}

// recordSSO writes an audit row for a single sign-on; a failure to write is
// logged, as the sign-in itself has been decided.
func (s *Server) recordSSO(r *http.Request, actor int64, action string, detail map[string]any) {
	if s.d.Audit != nil {
		s.writeAudit(r.Context(), audit.Record{Actor: actor, Action: action, Detail: detail})
	}
}

// providerError is the provider's error code, shown only when it is one the
// standard defines (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6), so that a
// forged link cannot put words on our page.
func providerError(code string) string {
	switch code {
	case "access_denied":
		return "access was denied"
	case "login_required", "interaction_required", "consent_required", "account_selection_required":
		return "you need to sign in there first"
	case "temporarily_unavailable", "server_error":
		return "it had a problem; try again in a minute"
	}
	return "it answered with an error"
}

// verifiedClaim reads email_verified, which some providers send as the
// string "true" instead of a boolean.
func verifiedClaim(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
