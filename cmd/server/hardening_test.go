package main

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
	"github.com/nodecommunity/nodecommunity/web/static"
)

// auditCount counts audit rows of action whose detail has key = value (an
// empty key: any detail).
func auditCount(t *testing.T, pool *pgxpool.Pool, action, key, value string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = $1 AND ($2 = '' OR detail ->> $2 = $3)`, action, key, value).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHeadersCrossOriginRefusal: the 403 of the cross-origin protection
// carries the CSP (with frame-ancestors) and the other security headers like
// every answer (ASVS 3.4.3, 3.4.6), and is written to the audit log (16.3.3).
func TestHeadersCrossOriginRefusal(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "csrf-headers", "REGISTRATION": "open"})
	f := &azFixture{url: in.url}
	for _, path := range []string{"/signout", "/api/v1/shares", "/no-such-page"} {
		t.Run(path, func(t *testing.T) {
			st, h, body := f.send(t, "POST", azReq{path: path, form: url.Values{"x": {"1"}}}, "", "", map[string]string{"Origin": "https://evil.example"})
			if st != http.StatusForbidden || !strings.Contains(body, "cross-origin request detected") {
				t.Fatalf("POST %s cross-origin = %d %.200q, want 403 from the cross-origin protection", path, st, body)
			}
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP of the 403 = %q, want it to contain %q", csp, want)
				}
			}
			for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
				if got := h.Get(k); got != want {
					t.Errorf("%s of the 403 = %q, want %q", k, got, want)
				}
			}
			if ct := h.Get("Content-Type"); strings.HasPrefix(ct, "text/") && !strings.Contains(ct, "charset=utf-8") {
				t.Errorf("Content-Type of the 403 = %q, want a charset", ct)
			}
		})
	}
	if got := auditCount(t, pool, "denied", "reason", "cross_origin"); got != 3 {
		t.Errorf("audit rows of cross-origin refusals = %d, want 3", got)
	}
}

// TestHeadersCharsetOnTextResponses walks pages, API answers, static files
// and the analytics exports, and wants a charset on every text type (ASVS
// 4.1.1). The event stream is another test's.
func TestHeadersCharsetOnTextResponses(t *testing.T) {
	f := newGraphFixture(t)
	f.grant(t)
	f.save(t)
	paths := []string{"/", "/signin", "/signup", "/cluster", "/no-such-page", "/healthz", "/readyz", "/api/v1/cluster",
		"/api/v1/me", "/network", "/settings/profile",
		"/api/v1/graph/export.graphml", "/api/v1/graph/export.gexf", "/api/v1/graph/export.csv"}
	for _, name := range []string{"app.css", "app.js", "graph.js", "icon.svg"} {
		paths = append(paths, static.Path(name))
	}
	paths = append(paths, "/static/icon.svg", "/static/nothing.txt")
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			st, _, h := graphGet(t, f.url+p, f.ben)
			ct := h.Get("Content-Type")
			if ct == "" {
				if st == http.StatusNoContent || st == http.StatusSeeOther {
					return
				}
				t.Fatalf("GET %s = %d without a Content-Type", p, st)
			}
			mt, params, err := mime.ParseMediaType(ct)
			if err != nil {
				t.Fatalf("GET %s: Content-Type %q: %v", p, ct, err)
			}
			// The types ASVS 4.1.1 names: text/*, */*+xml and */xml (JSON
			// is UTF-8 by definition and has no charset parameter).
			text := strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "+xml") || strings.HasSuffix(mt, "/xml")
			if text && !strings.EqualFold(params["charset"], "utf-8") {
				t.Errorf("GET %s = %d, Content-Type %q, want charset=utf-8", p, st, ct)
			}
		})
	}
	// The live streams: only the headers are read (the body never ends).
	for _, p := range []string{"/api/v1/events", "/cluster/live"} {
		t.Run(p, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "GET", f.url+p, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+f.ben)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
				t.Errorf("GET %s = %d, Content-Type %q, want text/event-stream; charset=utf-8", p, resp.StatusCode, ct)
			}
		})
	}
}

// TestHeadersNoStoreAndClearSiteData: every dynamic answer is no-store, the
// versioned static files keep their year-long cache (ASVS 14.2.2, 14.3.2), and
// signing out tells the browser to clear the site (14.3.1).
func TestHeadersNoStoreAndClearSiteData(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "nostore-test", "REGISTRATION": "open"})
	f := &azFixture{url: in.url}
	token := signupNode(t, in.url, "nostore-a")

	t.Run("dynamic answers are no-store", func(t *testing.T) {
		for _, p := range []string{"/", "/signin", "/network", "/api/v1/me", "/api/v1/cluster", "/no-such-page", "/healthz"} {
			_, h, _ := f.send(t, "GET", azReq{path: p}, token, "", nil)
			if got := h.Get("Cache-Control"); got != "no-store" {
				t.Errorf("GET %s: Cache-Control %q, want no-store", p, got)
			}
		}
	})
	t.Run("versioned static files are cached", func(t *testing.T) {
		_, h, _ := f.send(t, "GET", azReq{path: static.Path("app.css")}, "", "", nil)
		if got := h.Get("Cache-Control"); !strings.Contains(got, "max-age=31536000") {
			t.Errorf("static file: Cache-Control %q, want the long cache", got)
		}
	})
	const clear = `"cache", "cookies", "storage"`
	t.Run("sign-out form", func(t *testing.T) {
		form := url.Values{"email": {"nostore-a@example.test"}, "password": {testPassword}}
		st, h, body := f.send(t, "POST", azReq{path: "/signin", form: form}, "", "", nil)
		if st != http.StatusSeeOther {
			t.Fatalf("POST /signin = %d: %.300s", st, body)
		}
		var cookie string
		for _, c := range (&http.Response{Header: h}).Cookies() {
			if c.Value != "" {
				cookie = c.Name + "=" + c.Value
			}
		}
		st, h, _ = f.send(t, "POST", azReq{path: "/signout", form: url.Values{}}, "", cookie, nil)
		if st != http.StatusSeeOther || h.Get("Clear-Site-Data") != clear {
			t.Errorf("POST /signout = %d, Clear-Site-Data %q, want 303 and %s", st, h.Get("Clear-Site-Data"), clear)
		}
	})
	t.Run("API logout", func(t *testing.T) {
		st, h, _ := f.send(t, "POST", azReq{path: "/api/v1/logout"}, token, "", nil)
		if st != http.StatusNoContent || h.Get("Clear-Site-Data") != clear {
			t.Errorf("POST /api/v1/logout = %d, Clear-Site-Data %q, want 204 and %s", st, h.Get("Clear-Site-Data"), clear)
		}
	})
}

// TestHardeningWriteAndSignupLimits: sign-ups per address and writes per node
// are limited (ASVS 2.4.1), answered 429 with Retry-After, and audited.
func TestHardeningWriteAndSignupLimits(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "limits-hardening", "REGISTRATION": "open",
		"WRITE_LIMIT_PER_MINUTE": "5", "SIGNUP_LIMIT_PER_MINUTE": "3"})
	f := &azFixture{url: in.url}
	a := signupNode(t, in.url, "limit-a")
	b := signupNode(t, in.url, "limit-b")

	t.Run("sign-up per address", func(t *testing.T) {
		signup := func(h string) (int, http.Header, string) {
			return f.send(t, "POST", azReq{path: "/api/v1/signup", json: map[string]string{
				"email": h + "@example.test", "password": testPassword, "handle": h, "display_name": h}}, "", "", nil)
		}
		if st, _, body := signup("limit-c"); st != http.StatusCreated {
			t.Fatalf("third sign-up = %d %s, want 201", st, body)
		}
		st, h, body := signup("limit-d")
		if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "too_many_requests") {
			t.Fatalf("fourth sign-up = %d (Retry-After %q) %s, want 429 with Retry-After", st, h.Get("Retry-After"), body)
		}
		st, _, body = f.send(t, "POST", azReq{path: "/signup", form: url.Values{"email": {"limit-e@example.test"},
			"password": {testPassword}, "handle": {"limit-e"}, "display_name": {"E"}}}, "", "", nil)
		if st != http.StatusTooManyRequests || !strings.Contains(body, "Too many sign-ups") || !strings.Contains(body, "<html") {
			t.Errorf("sign-up form past the limit = %d %.300s, want a 429 page", st, body)
		}
		if got := auditCount(t, pool, "rate_limited", "limit", "signup_address"); got != 2 {
			t.Errorf("audit rows of refused sign-ups = %d, want 2", got)
		}
	})
	t.Run("writes per node", func(t *testing.T) {
		share := func(token string, i int) (int, http.Header, string) {
			return f.send(t, "POST", azReq{path: "/api/v1/shares", json: map[string]any{"body": fmt.Sprintf("share %d", i), "audience": "everyone"}}, token, "", nil)
		}
		for i := range 5 {
			if st, _, body := share(a, i); st != http.StatusCreated {
				t.Fatalf("share %d = %d %s, want 201", i, st, body)
			}
		}
		st, h, body := share(a, 5)
		if st != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !strings.Contains(body, "too_many_requests") {
			t.Fatalf("sixth share = %d (Retry-After %q) %s, want 429 with Retry-After", st, h.Get("Retry-After"), body)
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || !strings.Contains(e.Error.Message, "Wait a minute") {
			t.Errorf("429 message = %q (%v), want a clear one", e.Error.Message, err)
		}
		if ra, _ := strconv.Atoi(h.Get("Retry-After")); ra < 1 || ra > 60 {
			t.Errorf("Retry-After = %q, want 1..60 seconds", h.Get("Retry-After"))
		}
		if st, _, _ := f.send(t, "GET", azReq{path: "/api/v1/me"}, a, "", nil); st != http.StatusOK {
			t.Errorf("reading past the write limit = %d, want 200", st)
		}
		if st, _, body := share(b, 0); st != http.StatusCreated {
			t.Errorf("another node's share = %d %s, want 201 (the limit is per node)", st, body)
		}
		if st, _, _ := f.send(t, "POST", azReq{path: "/api/v1/logout"}, a, "", nil); st != http.StatusNoContent {
			t.Errorf("logout past the write limit = %d, want 204 (signing out is never limited)", st)
		}
		if got := auditCount(t, pool, "rate_limited", "limit", "writes"); got != 1 {
			t.Errorf("audit rows of refused writes = %d, want 1", got)
		}
	})
}

// TestHardeningTrustedProxies: X-Forwarded-For is believed only from a
// trusted proxy, and then its rightmost untrusted entry is the client, for the
// sign-in limit and the audit log alike (ASVS 15.3.4).
func TestHardeningTrustedProxies(t *testing.T) {
	attempt := 0
	signinFrom := func(t *testing.T, f *azFixture, xff string) (int, string) {
		t.Helper()
		// A new account each time: the per-account delay is not under test.
		attempt++
		email := fmt.Sprintf("nobody%d@example.test", attempt)
		st, _, body := f.send(t, "POST", azReq{path: "/api/v1/login", json: map[string]string{"email": email, "password": "wrong password"}},
			"", "", map[string]string{"X-Forwarded-For": xff})
		return st, body
	}
	lastAddress := func(t *testing.T, pool *pgxpool.Pool) string {
		t.Helper()
		var a string
		if err := pool.QueryRow(context.Background(), `SELECT address FROM audit_log WHERE action = 'signin_failed' ORDER BY id DESC LIMIT 1`).Scan(&a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	t.Run("untrusted peer: the header is ignored", func(t *testing.T) {
		dbURL := testenv.DatabaseURL(t)
		pool := testenv.Pool(t, dbURL)
		in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "proxy-none"})
		f := &azFixture{url: in.url}
		if st, body := signinFrom(t, f, "203.0.113.7"); st != http.StatusUnauthorized {
			t.Fatalf("sign-in = %d %s, want 401", st, body)
		}
		if got := lastAddress(t, pool); got != "127.0.0.1" {
			t.Errorf("audit address = %q, want the peer 127.0.0.1 (a spoofed header chooses nothing)", got)
		}
	})
	t.Run("trusted proxy: the client behind it", func(t *testing.T) {
		dbURL := testenv.DatabaseURL(t)
		pool := testenv.Pool(t, dbURL)
		in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "proxy-trusted", "TRUSTED_PROXIES": "127.0.0.0/8, 10.0.0.0/8"})
		f := &azFixture{url: in.url}
		// The client spoofed 198.51.100.1; the outer proxy (trusted) saw
		// 203.0.113.7 and the inner one saw the outer proxy at 10.1.2.3.
		if st, body := signinFrom(t, f, "198.51.100.1, 203.0.113.7, 10.1.2.3"); st != http.StatusUnauthorized {
			t.Fatalf("sign-in = %d %s, want 401", st, body)
		}
		if got := lastAddress(t, pool); got != "203.0.113.7" {
			t.Errorf("audit address = %q, want 203.0.113.7", got)
		}
		// The per-address sign-in limit counts the client, not the proxy.
		for i := range 29 {
			if st, body := signinFrom(t, f, fmt.Sprintf("198.51.100.%d, 203.0.113.7", i)); st != http.StatusUnauthorized {
				t.Fatalf("attempt %d = %d %s, want 401", i+2, st, body)
			}
		}
		if st, body := signinFrom(t, f, "203.0.113.7"); st != http.StatusTooManyRequests {
			t.Errorf("31st attempt from 203.0.113.7 = %d %s, want 429", st, body)
		}
		if st, body := signinFrom(t, f, "203.0.113.8"); st != http.StatusUnauthorized {
			t.Errorf("first attempt from 203.0.113.8 behind the same proxy = %d %s, want 401", st, body)
		}
		if got := auditCount(t, pool, "rate_limited", "limit", "signin_address"); got != 1 {
			t.Errorf("audit rows of the sign-in limit's 429s = %d, want 1", got)
		}
	})
}

// TestAuditRefusalsCapped: anonymous refusals from one address are written
// at most 60 a minute; the rest become one audit_suppressed row with their
// count (ASVS 16.3.3 without an audit flood), written at the latest when the
// instance stops.
func TestAuditRefusalsCapped(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "audit-cap"})
	f := &azFixture{url: in.url}
	for i := range 75 {
		if st, _, _ := f.send(t, "POST", azReq{path: "/api/v1/shares", json: map[string]any{"body": "x"}}, "", "", map[string]string{"Sec-Fetch-Site": "cross-site"}); st != http.StatusForbidden {
			t.Fatalf("request %d = %d, want 403", i, st)
		}
	}
	if got := auditCount(t, pool, "denied", "reason", "cross_origin"); got != 60 {
		t.Errorf("refusal rows = %d, want 60", got)
	}
	if err := in.stop(); err != nil {
		t.Fatal(err)
	}
	var count, n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*), coalesce(max((detail ->> 'count')::int), 0) FROM audit_log
		WHERE action = 'audit_suppressed' AND address = '127.0.0.1'`).Scan(&n, &count); err != nil {
		t.Fatal(err)
	}
	if n != 1 || count != 15 {
		t.Errorf("audit_suppressed rows = %d with count %d, want 1 with 15", n, count)
	}
}
