package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/web/htmlcheck"
)

// bareServer is the router with no database behind it: enough for the pages
// and errors that read nothing (404, 405, sign-in, oversize bodies).
func bareServer(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(New(Deps{Instance: "xss-test"}))
	t.Cleanup(ts.Close)
	return ts
}

var cspNonce = regexp.MustCompile(`script-src 'nonce-([^']+)'`)

// checkPage fails on anything executable in an HTML response: scripts must
// carry the nonce of this response's CSP header.
func checkPage(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	m := cspNonce.FindStringSubmatch(resp.Header.Get("Content-Security-Policy"))
	if m == nil {
		t.Fatalf("%s: no CSP nonce in %q", what, resp.Header.Get("Content-Security-Policy"))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: Content-Type %q, want text/html", what, ct)
	}
	for _, p := range htmlcheck.Check(body, htmlcheck.Options{Nonce: m[1], ScriptPrefix: "/static/"}) {
		t.Errorf("%s: %v", what, p)
	}
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestXSSErrorPagesEscapeThePath: the 404 page repeats the path it was asked
// for; every corpus string in the path (and in ?next= of the sign-in page)
// stays text.
func TestXSSErrorPagesEscapeThePath(t *testing.T) {
	ts := bareServer(t)
	for _, s := range htmlcheck.Hostile {
		t.Run(clipName(s), func(t *testing.T) {
			resp, body := get(t, ts.URL+"/"+url.PathEscape(s))
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("status %d, want 404", resp.StatusCode)
			}
			checkPage(t, "404 page", resp, body)

			resp, body = get(t, ts.URL+"/signin?next="+url.QueryEscape("/"+s))
			want := http.StatusOK
			if !cleanText(s) {
				want = http.StatusUnprocessableEntity // checkInput: NUL or invalid UTF-8
			}
			if resp.StatusCode != want {
				t.Errorf("sign-in status %d, want %d", resp.StatusCode, want)
			}
			checkPage(t, "sign-in page", resp, body)
		})
	}
}

func clipName(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}
