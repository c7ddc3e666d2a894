package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
	"github.com/nodecommunity/nodecommunity/web"
)

// hdrCSP is the whole Content-Security-Policy of every HTML response, with
// its nonce as the one group. Nothing else is needed by the pages: styles,
// images, fonts and live streams all come from this site (default-src), no
// page has an inline style or a data: image, and htmx is configured not to
// inject its indicator styles.
var hdrCSP = regexp.MustCompile(`^default-src 'self'; script-src 'nonce-([A-Za-z0-9+/]{22})'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'$`)

// hdrHSTS is the Strict-Transport-Security of a response served over TLS.
const hdrHSTS = "max-age=31536000; includeSubDomains"

// hdrCheckPage checks the hardening headers of one response; HTML responses
// must carry the exact CSP, and their script tags its nonce.
func hdrCheckPage(t *testing.T, what string, h http.Header, body string, tls bool) {
	t.Helper()
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s: X-Content-Type-Options %q, want nosniff", what, got)
	}
	if got := h.Get("Referrer-Policy"); got != "strict-origin-when-cross-origin" {
		t.Errorf("%s: Referrer-Policy %q, want strict-origin-when-cross-origin", what, got)
	}
	hsts := h.Get("Strict-Transport-Security")
	switch {
	case tls && hsts != hdrHSTS:
		t.Errorf("%s over TLS: Strict-Transport-Security %q, want %q", what, hsts, hdrHSTS)
	case !tls && hsts != "":
		t.Errorf("%s over plain HTTP: Strict-Transport-Security %q, want none (a browser ignores it there, and a proxy that terminates TLS sets its own)", what, hsts)
	}
	if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		return
	}
	csp := h.Get("Content-Security-Policy")
	m := hdrCSP.FindStringSubmatch(csp)
	if m == nil {
		t.Errorf("%s: Content-Security-Policy %q, want %s", what, csp, hdrCSP)
		return
	}
	scripts, withNonce := strings.Count(body, "<script"), strings.Count(body, `nonce="`+m[1]+`"`)
	if scripts != withNonce {
		t.Errorf("%s: %d script tags, %d of them with the response's nonce", what, scripts, withNonce)
	}
}

// TestHeadersOnEveryPage requests every GET route as an anonymous visitor and
// as a member and checks the headers of each answer (HTML or not).
func TestHeadersOnEveryPage(t *testing.T) {
	f := newAzFixture(t, "headers")
	pages := 0
	for _, c := range azCases() {
		if c.method != http.MethodGet && c.method != "*" {
			continue
		}
		for _, role := range []int{azAnon, azMember} {
			rq := c.prep(t, f, f.owner(role))
			st, h, body := f.send(t, http.MethodGet, rq, f.tokenFor(role, rq), "", nil)
			if st >= 500 {
				t.Errorf("GET %s as %s = %d", rq.path, azRoleNames[role], st)
			}
			if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				pages++
			}
			hdrCheckPage(t, "GET "+rq.path+" as "+azRoleNames[role], h, body, false)
		}
	}
	// Error pages and forms answered with an error are pages too.
	for _, rq := range []azReq{{path: "/nothing-here"}, {path: "/signin", form: url.Values{"email": {"x@example.test"}, "password": {"wrong"}}}} {
		method := http.MethodGet
		if rq.form != nil {
			method = http.MethodPost
		}
		st, h, body := f.send(t, method, rq, "", "", nil)
		if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s %s = %d %s, want an HTML page", method, rq.path, st, h.Get("Content-Type"))
		}
		hdrCheckPage(t, method+" "+rq.path, h, body, false)
	}
	if pages < 40 {
		t.Errorf("only %d HTML pages were checked; the walk missed most of them", pages)
	}
}

// TestHeadersHSTSOnlyOverTLS serves the router itself over TLS and over plain
// HTTP: Strict-Transport-Security is sent on the first only.
func TestHeadersHSTSOnlyOverTLS(t *testing.T) {
	site := web.New(web.Deps{Instance: "tls-test"})
	for _, tc := range []struct {
		name string
		srv  *httptest.Server
		tls  bool
	}{
		{"over TLS", httptest.NewTLSServer(site), true},
		{"over plain HTTP", httptest.NewServer(site), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.srv.Close()
			client := tc.srv.Client()
			client.Timeout = 10 * time.Second
			// A page, a JSON answer and an error page: no route goes without.
			for _, path := range []string{"/signin", "/healthz", "/nothing-here"} {
				resp, err := client.Get(tc.srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				hdrCheckPage(t, "GET "+path, resp.Header, string(body), tc.tls)
			}
		})
	}
}

// TestCookieSession checks the session cookie every way of signing in sets:
// a __Host- name, HttpOnly, Secure, SameSite=Lax, Path=/ and no Domain, and a
// new value at each sign-in (a cookie planted before is worth nothing).
func TestCookieSession(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "cookie-test", "REGISTRATION": "open"})
	f := &azFixture{url: in.url}
	signupNode(t, in.url, "cookie-first")

	sessionCookie := func(t *testing.T, how string, h http.Header) *http.Cookie {
		t.Helper()
		var found *http.Cookie
		for _, line := range h.Values("Set-Cookie") {
			c, err := http.ParseSetCookie(line)
			if err != nil {
				t.Errorf("%s: unreadable Set-Cookie %q: %v", how, line, err)
				continue
			}
			if c.Value == "" {
				continue // an expired one, clearing an older session
			}
			if found != nil {
				t.Errorf("%s: more than one cookie set: %q", how, h.Values("Set-Cookie"))
			}
			found = c
		}
		if found == nil {
			t.Fatalf("%s: no session cookie set: %q", how, h.Values("Set-Cookie"))
		}
		c := found
		if !strings.HasPrefix(c.Name, "__Host-") || c.Name != SessionCookie {
			t.Errorf("%s: cookie name %q, want %s (the __Host- prefix)", how, c.Name, SessionCookie)
		}
		if !c.HttpOnly {
			t.Errorf("%s: cookie is not HttpOnly", how)
		}
		if !c.Secure {
			t.Errorf("%s: cookie is not Secure", how)
		}
		if c.SameSite != http.SameSiteLaxMode {
			t.Errorf("%s: SameSite %v, want Lax", how, c.SameSite)
		}
		if c.Path != "/" {
			t.Errorf("%s: Path %q, want /", how, c.Path)
		}
		if c.Domain != "" {
			t.Errorf("%s: Domain %q, want none", how, c.Domain)
		}
		return c
	}

	signupForm := url.Values{"email": {"cookie-page@example.test"}, "password": {testPassword}, "handle": {"cookie-page"}, "display_name": {"Cookie Page"}}
	signinForm := url.Values{"email": {"cookie-page@example.test"}, "password": {testPassword}}

	var first *http.Cookie
	t.Run("sign-up form", func(t *testing.T) {
		st, h, body := f.send(t, "POST", azReq{path: "/signup", form: signupForm}, "", "", nil)
		if st != http.StatusSeeOther {
			t.Fatalf("POST /signup = %d: %.300s", st, body)
		}
		first = sessionCookie(t, "sign-up", h)
	})
	t.Run("sign-in form, renewed over an existing session", func(t *testing.T) {
		if first == nil {
			t.Skip("no cookie from the sign-up")
		}
		st, h, body := f.send(t, "POST", azReq{path: "/signin", form: signinForm}, "", first.Name+"="+first.Value, nil)
		if st != http.StatusSeeOther {
			t.Fatalf("POST /signin = %d: %.300s", st, body)
		}
		if c := sessionCookie(t, "sign-in", h); c.Value == first.Value {
			t.Error("signing in kept the session token the browser came with")
		}
	})
	t.Run("API login", func(t *testing.T) {
		st, h, body := f.send(t, "POST", azReq{path: "/api/v1/login", json: map[string]string{"email": "cookie-page@example.test", "password": testPassword}}, "", "", nil)
		if st != http.StatusOK {
			t.Fatalf("POST /api/v1/login = %d: %.300s", st, body)
		}
		sessionCookie(t, "API login", h)
	})
}
