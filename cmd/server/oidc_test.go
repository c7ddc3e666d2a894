package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// fakeIssuer is a small OpenID Connect provider for tests: discovery, a key
// set, an /authorize that signs in whoever the test says at once and sends
// the browser back with a code, and a /token that checks the client, the
// redirect URI and the PKCE verifier and answers with an RS256 ID token.
type fakeIssuer struct {
	t        *testing.T
	srv      *httptest.Server
	url      string
	clientID string
	secret   string
	redirect string
	key      *rsa.PrivateKey
	otherKey *rsa.PrivateKey // signs "bad signature" tokens under the same key id

	mu    sync.Mutex
	user  fakeUser          // who /authorize signs in next
	mode  string            // "", "bad-signature", "wrong-nonce", "wrong-audience"
	codes map[string]grant  // issued, unused codes
	seen  map[string]string // what the last /authorize request carried
}

type fakeUser struct {
	Sub      string
	Email    string
	Verified any // bool, or a string as some providers send it
	Name     string
}

type grant struct {
	user      fakeUser
	nonce     string
	challenge string
	redirect  string
}

// newFakeIssuer serves on ln (loopback only).
func newFakeIssuer(t *testing.T, ln net.Listener, clientID, secret, redirect string) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{t: t, clientID: clientID, secret: secret, redirect: redirect, codes: map[string]grant{}}
	var err error
	if f.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if f.otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.discovery)
	mux.HandleFunc("GET /jwks", f.jwks)
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Listener.Close()
	f.srv.Listener = ln
	f.srv.Start()
	f.url = f.srv.URL
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) set(u fakeUser, mode string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.user, f.mode = u, mode
}

func (f *fakeIssuer) discovery(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                f.url,
		"authorization_endpoint":                f.url + "/authorize",
		"token_endpoint":                        f.url + "/token",
		"jwks_uri":                              f.url + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (f *fakeIssuer) jwks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &f.key.PublicKey, KeyID: "test-key", Algorithm: string(jose.RS256), Use: "sig"},
	}})
}

func (f *fakeIssuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = map[string]string{}
	for k := range q {
		f.seen[k] = q.Get(k)
	}
	if q.Get("response_type") != "code" || q.Get("client_id") != f.clientID || q.Get("redirect_uri") != f.redirect ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
		!strings.Contains(" "+q.Get("scope")+" ", " openid ") {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	code := rand.Text()
	f.codes[code] = grant{user: f.user, nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
	back, _ := url.Parse(q.Get("redirect_uri"))
	back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (f *fakeIssuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	tokenError := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != f.clientID || secret != f.secret {
		tokenError("invalid_client")
		return
	}
	f.mu.Lock()
	g, found := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code")) // a code works once
	mode := f.mode
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirect ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError("invalid_grant")
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": f.url, "sub": g.user.Sub, "aud": f.clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": g.nonce, "email": g.user.Email, "email_verified": g.user.Verified, "name": g.user.Name,
	}
	key := f.key
	switch mode {
	case "bad-signature":
		key = f.otherKey
	case "wrong-nonce":
		claims["nonce"] = "not-the-nonce-of-this-sign-in"
	case "wrong-audience":
		claims["aud"] = "another-client"
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "test-key"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		f.t.Error(err)
		return
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		f.t.Error(err)
		return
	}
	raw, _ := obj.CompactSerialize()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300, "id_token": raw})
}

// ssoBrowser is a browser without JavaScript whose redirects the test follows
// by hand, to look at each hop.
type ssoBrowser struct {
	c   *http.Client
	jar *cookiejar.Jar
}

func newSSOBrowser() *ssoBrowser {
	jar, _ := cookiejar.New(nil)
	return &ssoBrowser{jar: jar, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *ssoBrowser) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *ssoBrowser) sessionCookie(t *testing.T, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == SessionCookie {
			return c.Value
		}
	}
	return ""
}

// toProvider starts a sign-in and follows it through the fake provider; it
// returns the callback URL the provider sent the browser back to.
func (b *ssoBrowser) toProvider(t *testing.T, base, issuer, next string) string {
	t.Helper()
	start := base + "/auth/oidc/start"
	if next != "" {
		start += "?next=" + url.QueryEscape(next)
	}
	resp, body := b.get(t, start)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, issuer+"/authorize?") {
		t.Fatalf("GET /auth/oidc/start: got %d to %q, want 302 to the provider\n%s", resp.StatusCode, loc, body)
	}
	resp, body = b.get(t, loc)
	back := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(back, base+"/auth/oidc/callback?") {
		t.Fatalf("provider: got %d to %q, want 302 back to the callback\n%s", resp.StatusCode, back, body)
	}
	return back
}

// signIn runs a whole sign-in and returns the callback's status, where it
// redirects to and the page it showed.
func (b *ssoBrowser) signIn(t *testing.T, base, issuer, next string) (int, string, string) {
	t.Helper()
	resp, body := b.get(t, b.toProvider(t, base, issuer, next))
	return resp.StatusCode, resp.Header.Get("Location"), body
}

// me is the node the browser is signed in as (ID 0: signed out).
type ssoMe struct {
	ID          int64  `json:"id"`
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Steward     bool   `json:"steward"`
}

func (b *ssoBrowser) me(t *testing.T, base string) ssoMe {
	t.Helper()
	resp, body := b.get(t, base+"/api/v1/me")
	var me ssoMe
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &me); err != nil {
			t.Fatalf("GET /api/v1/me: %v: %s", err, body)
		}
	}
	return me
}

func TestOIDCSignIn(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	port, issuerPort := freePort(t), freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	issuerURL := "http://127.0.0.1:" + strconv.Itoa(issuerPort)
	const clientID, secret = "nodecommunity-test", "test-client-secret"
	redirect := base + "/auth/oidc/callback"
	// The provider is down while the instance starts: start-up must not fail.
	in := startInstance(t, map[string]string{
		"DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:" + strconv.Itoa(port), "REGISTRATION": "open",
		"OIDC_ISSUER": issuerURL, "OIDC_CLIENT_ID": clientID, "OIDC_CLIENT_SECRET": secret,
		"OIDC_REDIRECT_URL": redirect, "OIDC_EMAIL_DOMAIN": "example.test", "OIDC_PROVIDER_NAME": "Acme Login",
	})
	if in.url != base {
		t.Fatalf("got instance at %s, want %s", in.url, base)
	}
	pool := testenv.Pool(t, dbURL)
	nodesWithEmail := func(email string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM nodes WHERE email = $1`, email).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	auditRows := func(where string, args ...any) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE `+where, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("provider down: the server runs and says so", func(t *testing.T) {
		resp, body := newSSOBrowser().get(t, base+"/auth/oidc/start")
		if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Acme Login cannot be reached") {
			t.Errorf("got %d, want 503 saying the provider cannot be reached\n%s", resp.StatusCode, body)
		}
		// Ready once the instance's own dependencies are (the event stream is
		// created in the background at start), with the provider still down.
		waitReady(t, base)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(issuerPort))
	if err != nil {
		t.Fatalf("listen for the fake provider: %v", err)
	}
	issuer := newFakeIssuer(t, ln, clientID, secret, redirect)

	t.Run("the sign-in page offers it", func(t *testing.T) {
		_, page := newSSOBrowser().get(t, base+"/signin?next=/people")
		if !strings.Contains(page, `data-testid="sso-signin"`) || !strings.Contains(page, "Sign in with Acme Login") ||
			!strings.Contains(page, `href="/auth/oidc/start?next=%2Fpeople"`) {
			t.Errorf("got no \"Sign in with Acme Login\" link keeping next on the sign-in page")
		}
	})

	ana := newSSOBrowser()
	var anaID int64
	t.Run("first sign-in creates the node just in time", func(t *testing.T) {
		issuer.set(fakeUser{Sub: "sub-ana", Email: "Ana.Lopez@Example.test", Verified: true, Name: "Ana López"}, "")
		back := ana.toProvider(t, base, issuer.url, "")
		if got := issuer.seen["scope"]; !strings.Contains(got, "email") {
			t.Errorf("got scope %q, want openid email profile", got)
		}
		before := ana.sessionCookie(t, base)
		if before == "" {
			t.Fatal("got no session cookie holding the pending sign-in")
		}
		resp, body := ana.get(t, back)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings/profile" {
			t.Fatalf("callback: got %d to %q, want 303 to /settings/profile\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		if after := ana.sessionCookie(t, base); after == "" || after == before {
			t.Error("got the same session token after signing in, want a renewed one")
		}
		me := ana.me(t, base)
		if me.Handle != "ana-lopez" || me.DisplayName != "Ana López" || me.Email != "ana.lopez@example.test" || !me.Steward {
			t.Errorf("got %+v, want @ana-lopez, Ana López, ana.lopez@example.test, steward (the first node)", me)
		}
		anaID = me.ID
		if n := auditRows(`actor_id = $1 AND action = 'signin' AND detail->>'method' = 'oidc' AND detail->>'outcome' = 'created' AND address <> ''`, anaID); n != 1 {
			t.Errorf("got %d audit rows for the sign-in, want 1", n)
		}
		_, page := ana.get(t, base+"/")
		if !strings.Contains(page, "@ana-lopez") {
			t.Error("got a home page without @ana-lopez in the header")
		}
	})
	t.Run("second sign-in finds the same node", func(t *testing.T) {
		b := newSSOBrowser()
		issuer.set(fakeUser{Sub: "sub-ana", Email: "ana.lopez@example.test", Verified: true, Name: "Ana"}, "")
		status, loc, body := b.signIn(t, base, issuer.url, "/people")
		if status != http.StatusSeeOther || loc != "/people" {
			t.Fatalf("callback: got %d to %q, want 303 to /people (next)\n%s", status, loc, body)
		}
		if me := b.me(t, base); me.ID != anaID {
			t.Errorf("got node %d, want %d", me.ID, anaID)
		}
		if n := nodesWithEmail("ana.lopez@example.test"); n != 1 {
			t.Errorf("got %d nodes with the email, want 1", n)
		}
	})
	t.Run("a taken handle is made unique", func(t *testing.T) {
		b := newSSOBrowser()
		issuer.set(fakeUser{Sub: "sub-ana-2", Email: "ana.lopez+lab@example.test", Verified: true}, "")
		if status, _, body := b.signIn(t, base, issuer.url, ""); status != http.StatusSeeOther {
			t.Fatalf("callback: got %d, want 303\n%s", status, body)
		}
		if me := b.me(t, base); me.Handle != "ana-lopez-2" || me.DisplayName != "ana.lopez+lab" || me.Steward {
			t.Errorf("got %+v, want @ana-lopez-2 named after the email, not a steward", me)
		}
	})

	var bobToken string
	t.Run("an existing node is linked by verified email", func(t *testing.T) {
		status, body := apiDo(t, http.MethodPost, base+"/api/v1/signup", "", map[string]string{
			"email": "bob@example.test", "password": testPassword, "handle": "bobby", "display_name": "Bob",
		})
		var out struct {
			Node  ssoMe  `json:"node"`
			Token string `json:"token"`
		}
		if status != http.StatusCreated || json.Unmarshal(body, &out) != nil {
			t.Fatalf("sign-up: got %d %s", status, body)
		}
		bobToken = out.Token
		b := newSSOBrowser()
		issuer.set(fakeUser{Sub: "sub-bob", Email: "bob@example.test", Verified: true, Name: "Robert"}, "")
		if status, _, body := b.signIn(t, base, issuer.url, ""); status != http.StatusSeeOther {
			t.Fatalf("callback: got %d, want 303\n%s", status, body)
		}
		if me := b.me(t, base); me.ID != out.Node.ID || me.Handle != "bobby" || me.DisplayName != "Bob" {
			t.Errorf("got %+v, want the signed-up node %d @bobby, unchanged", me, out.Node.ID)
		}
	})
	t.Run("a node linked to another account is not taken over", func(t *testing.T) {
		b := newSSOBrowser()
		issuer.set(fakeUser{Sub: "sub-someone-else", Email: "ana.lopez@example.test", Verified: true}, "")
		status, _, body := b.signIn(t, base, issuer.url, "")
		if status != http.StatusForbidden || !strings.Contains(body, "already linked") {
			t.Errorf("got %d, want 403 saying the node is linked to another account\n%s", status, body)
		}
		if me := b.me(t, base); me.ID != 0 {
			t.Errorf("got signed in as %+v, want signed out", me)
		}
	})

	refused := []struct {
		name   string
		user   fakeUser
		mode   string
		status int
		says   string
	}{
		{"unverified email", fakeUser{Sub: "sub-carl", Email: "carl@example.test", Verified: false}, "", http.StatusForbidden, "not verified your email"},
		{"unverified email sent as a string", fakeUser{Sub: "sub-carl", Email: "carl@example.test", Verified: "false"}, "", http.StatusForbidden, "not verified your email"},
		{"no email_verified claim", fakeUser{Sub: "sub-carl", Email: "carl@example.test"}, "", http.StatusForbidden, "not verified your email"},
		{"wrong domain", fakeUser{Sub: "sub-dora", Email: "dora@elsewhere.test", Verified: true}, "", http.StatusForbidden, "email address at example.test"},
		{"look-alike domain", fakeUser{Sub: "sub-dora", Email: "dora@evil-example.test", Verified: true}, "", http.StatusForbidden, "email address at example.test"},
		{"no email", fakeUser{Sub: "sub-erin", Verified: true}, "", http.StatusBadRequest, "did not share your email"},
		{"bad signature", fakeUser{Sub: "sub-fay", Email: "fay@example.test", Verified: true}, "bad-signature", http.StatusForbidden, "could not be verified"},
		{"wrong nonce", fakeUser{Sub: "sub-fay", Email: "fay@example.test", Verified: true}, "wrong-nonce", http.StatusForbidden, "not issued for this sign-in"},
		{"wrong audience", fakeUser{Sub: "sub-fay", Email: "fay@example.test", Verified: true}, "wrong-audience", http.StatusForbidden, "could not be verified"},
	}
	for _, tc := range refused {
		t.Run(tc.name+" refused", func(t *testing.T) {
			failed := auditRows(`action = 'signin_failed' AND detail->>'method' = 'oidc'`)
			b := newSSOBrowser()
			issuer.set(tc.user, tc.mode)
			status, _, body := b.signIn(t, base, issuer.url, "")
			if status != tc.status || !strings.Contains(body, tc.says) {
				t.Errorf("got %d, want %d saying %q\n%s", status, tc.status, tc.says, body)
			}
			if me := b.me(t, base); me.ID != 0 {
				t.Errorf("got signed in as %+v, want signed out", me)
			}
			if got := auditRows(`action = 'signin_failed' AND detail->>'method' = 'oidc'`); got != failed+1 {
				t.Errorf("got %d failed sign-ins in the audit log, want %d", got, failed+1)
			}
			if tc.user.Email != "" {
				if n := nodesWithEmail(strings.ToLower(tc.user.Email)); n != 0 {
					t.Errorf("got %d nodes created for %s, want none", n, tc.user.Email)
				}
			}
		})
	}

	t.Run("bad state refused", func(t *testing.T) {
		b := newSSOBrowser()
		issuer.set(fakeUser{Sub: "sub-gus", Email: "gus@example.test", Verified: true}, "")
		back := b.toProvider(t, base, issuer.url, "")
		u, _ := url.Parse(back)
		q := u.Query()
		q.Set("state", "forged-"+q.Get("state"))
		u.RawQuery = q.Encode()
		resp, body := b.get(t, u.String())
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not belong to the sign-in") {
			t.Errorf("forged state: got %d, want 400\n%s", resp.StatusCode, body)
		}
		// The pending sign-in is used up: the genuine answer does not work after.
		resp, body = b.get(t, back)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired or was already used") {
			t.Errorf("replayed answer: got %d, want 400\n%s", resp.StatusCode, body)
		}
		if n := nodesWithEmail("gus@example.test"); n != 0 {
			t.Errorf("got %d nodes, want none", n)
		}
	})
	t.Run("an answer from another browser refused", func(t *testing.T) {
		issuer.set(fakeUser{Sub: "sub-gus", Email: "gus@example.test", Verified: true}, "")
		back := newSSOBrowser().toProvider(t, base, issuer.url, "")
		resp, body := newSSOBrowser().get(t, back) // login CSRF: the victim's browser gets the attacker's code
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("got %d, want 400\n%s", resp.StatusCode, body)
		}
	})
	t.Run("a provider error is shown, not echoed", func(t *testing.T) {
		b := newSSOBrowser()
		b.toProvider(t, base, issuer.url, "")
		resp, body := b.get(t, base+"/auth/oidc/callback?error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "access was denied") || strings.Contains(body, "alert(1)") {
			t.Errorf("got %d, want 403 saying access was denied, without the description\n%s", resp.StatusCode, body)
		}
	})
	t.Run("deactivated refused", func(t *testing.T) {
		// Ana, the steward, deactivates Bob with her session.
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/nodes/bobby/deactivate", nil)
		resp, err := ana.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("deactivate: got %d, want 204", resp.StatusCode)
		}
		b := newSSOBrowser()
		issuer.set(fakeUser{Sub: "sub-bob", Email: "bob@example.test", Verified: true}, "")
		status, _, body := b.signIn(t, base, issuer.url, "")
		if status != http.StatusForbidden || !strings.Contains(body, "deactivated") {
			t.Errorf("got %d, want 403 saying the node is deactivated\n%s", status, body)
		}
		if me := b.me(t, base); me.ID != 0 {
			t.Errorf("got signed in as %+v, want signed out", me)
		}
		if s, _ := apiDo(t, http.MethodGet, base+"/api/v1/me", bobToken, nil); s != http.StatusUnauthorized {
			t.Errorf("Bob's token: got %d, want 401", s)
		}
	})
	t.Run("signed in, start goes straight to next", func(t *testing.T) {
		resp, _ := ana.get(t, base+"/auth/oidc/start?next=/people")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/people" {
			t.Errorf("got %d to %q, want 303 to /people", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("next cannot leave the site", func(t *testing.T) {
		b := newSSOBrowser()
		issuer.set(fakeUser{Sub: "sub-ana", Email: "ana.lopez@example.test", Verified: true}, "")
		if status, loc, _ := b.signIn(t, base, issuer.url, "//evil.example/x"); status != http.StatusSeeOther || loc != "/" {
			t.Errorf("got %d to %q, want 303 to /", status, loc)
		}
	})
}

func TestOIDCOff(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t)})
	b := newSSOBrowser()
	if resp, _ := b.get(t, in.url+"/auth/oidc/start"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /auth/oidc/start: got %d, want 404", resp.StatusCode)
	}
	if resp, _ := b.get(t, in.url+"/auth/oidc/callback?code=x&state=y"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /auth/oidc/callback: got %d, want 404", resp.StatusCode)
	}
	if _, page := b.get(t, in.url+"/signin"); strings.Contains(page, "sso-signin") {
		t.Error("got a single sign-on link on the sign-in page, want none")
	}
}
