package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func TestHTTPBehaviour(t *testing.T) {
	in := startInstance(t, map[string]string{
		"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "http-test", "SEED_DEMO": "true",
	})
	get := func(t *testing.T, path string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, in.url+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("home page shows the seeded network", func(t *testing.T) {
		resp, body := get(t, "/")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET / = %d", resp.StatusCode)
		}
		for _, want := range []string{"network of equals", ">30<", "Most connected people", "Platform guild", "http-test"} {
			if !strings.Contains(body, want) {
				t.Errorf("home page lacks %q", want)
			}
		}
	})

	t.Run("security headers and a fresh CSP nonce on every page", func(t *testing.T) {
		nonceRe := regexp.MustCompile(`script-src 'nonce-([^']+)'`)
		var nonces []string
		for range 2 {
			resp, body := get(t, "/cluster")
			h := resp.Header
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			m := nonceRe.FindStringSubmatch(csp)
			if m == nil {
				t.Fatalf("CSP %q has no script nonce", csp)
			}
			nonces = append(nonces, m[1])
			if n := strings.Count(body, `nonce="`+m[1]+`"`); n != 3 {
				t.Errorf("%d script tags carry the response's nonce, want 3 (htmx, its SSE extension, app.js)", n)
			}
			if got := strings.Count(body, "<script"); got != 3 {
				t.Errorf("%d script tags, want 3", got)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
				t.Errorf("missing nosniff or Referrer-Policy: %v", h)
			}
		}
		if nonces[0] == nonces[1] {
			t.Error("two responses share a nonce")
		}
	})

	t.Run("unknown API path is a JSON 404", func(t *testing.T) {
		resp, body := get(t, "/api/v1/nothing")
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "not_found" || e.Error.Message == "" {
			t.Errorf("GET /api/v1/nothing = %d %s, want a JSON not_found error", resp.StatusCode, body)
		}
	})

	t.Run("unknown page is an HTML 404 with the layout", func(t *testing.T) {
		resp, body := get(t, "/nowhere")
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "Not Found") || !strings.Contains(body, `href="/"`) {
			t.Errorf("GET /nowhere = %d, want a 404 page linking home", resp.StatusCode)
		}
	})

	t.Run("cross-origin unsafe request is refused", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, in.url+"/", strings.NewReader("x=1"))
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST = %d, want 403", resp.StatusCode)
		}
	})

	t.Run("wrong method is 405", func(t *testing.T) {
		resp, err := http.Post(in.url+"/api/v1/cluster", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST /api/v1/cluster = %d, want 405", resp.StatusCode)
		}
	})

	t.Run("HEAD works like GET", func(t *testing.T) {
		resp, err := http.Head(in.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("HEAD / = %d, want 200", resp.StatusCode)
		}
	})

	t.Run("static files are cached only under their hash", func(t *testing.T) {
		_, page := get(t, "/")
		m := regexp.MustCompile(`href="(/static/app\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no hashed stylesheet link on the home page")
		}
		resp, body := get(t, m[1])
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, "--accent") {
			t.Errorf("GET %s = %d, Cache-Control %q", m[1], resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
		resp, _ = get(t, "/static/app.css?v=old")
		if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("stale hash Cache-Control = %q, want no-cache", cc)
		}
		resp, _ = get(t, "/static/vendor/")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("directory listing = %d, want 404", resp.StatusCode)
		}
	})

	t.Run("empty network shows what to do next", func(t *testing.T) {
		empty := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "empty-test"})
		resp, err := http.Get(empty.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), `data-testid="empty-network"`) || !strings.Contains(string(b), "SEED_DEMO=true") {
			t.Error("an empty network's home page should say how to get started")
		}
	})
}
