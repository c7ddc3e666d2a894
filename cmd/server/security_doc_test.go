package main

// SECURITY.md is the OWASP ASVS 5.0.0 level 1 and 2 checklist of the project
// (issue 9). TestSecurityChecklist keeps it honest: every row has an allowed
// status, every pass names a test that exists, every "not applicable" gives a
// reason, and no level 1 or 2 requirement of the chapters it covers is
// missing. The other tests here show the few claims of the checklist that no
// feature's own tests cover (request framing, TRACE, directory listings, the
// last-resort error handler, log lines, the OIDC issuer check, the password
// rules, and rules about the source itself).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
	"github.com/nodecommunity/nodecommunity/web"
)

// secRepoRoot is the repository root, seen from this package's directory.
const secRepoRoot = "../.."

// secStatuses are the words a checklist row's status may be.
var secStatuses = []string{"pass", "not applicable", "not met"}

// secSections are the headings SECURITY.md must have: the reporting section,
// the threat model, the documented decisions that documentation requirements
// point at, and one section per ASVS chapter of the checklist.
var secSections = []string{
	"## Reporting a vulnerability",
	"## Threat model",
	"### Authentication pathways",
	"### Sessions",
	"### Authorization rules",
	"### Input rules and limits",
	"### Data classification",
	"### Cryptographic inventory",
	"### Communication and secrets",
	"### Logging inventory",
	"### Dependencies",
	"### Deployment requirements",
	"### V1 Encoding and Sanitization",
	"### V2 Validation and Business Logic",
	"### V3 Web Frontend Security",
	"### V4 API and Web Service",
	"### V6 Authentication",
	"### V7 Session Management",
	"### V8 Authorization",
	"### V10 OAuth and OIDC",
	"### V11 Cryptography",
	"### V13 Configuration",
	"### V14 Data Protection",
	"### V15 Secure Coding and Architecture",
	"### V16 Security Logging and Error Handling",
}

// secExpected is every level 1 and 2 requirement of the chapters above, as
// "id:level", from the ASVS 5.0.0 text (OWASP/ASVS, 5.0/en). A row for any
// other id, a missing id or a wrong level fails the test.
var secExpected = strings.Fields(`
1.1.1:2 1.1.2:2 1.2.1:1 1.2.2:1 1.2.3:1 1.2.4:1 1.2.5:1 1.2.6:2 1.2.7:2 1.2.8:2 1.2.9:2
1.3.1:1 1.3.2:1 1.3.3:2 1.3.4:2 1.3.5:2 1.3.6:2 1.3.7:2 1.3.8:2 1.3.9:2 1.3.10:2 1.3.11:2
1.4.1:2 1.4.2:2 1.4.3:2 1.5.1:1 1.5.2:2
2.1.1:1 2.1.2:2 2.1.3:2 2.2.1:1 2.2.2:1 2.2.3:2 2.3.1:1 2.3.2:2 2.3.3:2 2.3.4:2 2.4.1:2
3.2.1:1 3.2.2:1 3.3.1:1 3.3.2:2 3.3.3:2 3.3.4:2 3.4.1:1 3.4.2:1 3.4.3:2 3.4.4:2 3.4.5:2 3.4.6:2
3.5.1:1 3.5.2:1 3.5.3:1 3.5.4:2 3.5.5:2 3.7.1:2 3.7.2:2
4.1.1:1 4.1.2:2 4.1.3:2 4.2.1:2 4.3.1:2 4.3.2:2 4.4.1:1 4.4.2:2 4.4.3:2 4.4.4:2
6.1.1:1 6.1.2:2 6.1.3:2 6.2.1:1 6.2.2:1 6.2.3:1 6.2.4:1 6.2.5:1 6.2.6:1 6.2.7:1 6.2.8:1
6.2.9:2 6.2.10:2 6.2.11:2 6.2.12:2 6.3.1:1 6.3.2:1 6.3.3:2 6.3.4:2 6.4.1:1 6.4.2:1 6.4.3:2 6.4.4:2
6.5.1:2 6.5.2:2 6.5.3:2 6.5.4:2 6.5.5:2 6.6.1:2 6.6.2:2 6.6.3:2 6.8.1:2 6.8.2:2 6.8.3:2 6.8.4:2
7.1.1:2 7.1.2:2 7.1.3:2 7.2.1:1 7.2.2:1 7.2.3:1 7.2.4:1 7.3.1:2 7.3.2:2
7.4.1:1 7.4.2:1 7.4.3:2 7.4.4:2 7.4.5:2 7.5.1:2 7.5.2:2 7.6.1:2 7.6.2:2
8.1.1:1 8.1.2:2 8.2.1:1 8.2.2:1 8.2.3:2 8.3.1:1 8.4.1:2
10.1.1:2 10.1.2:2 10.2.1:2 10.2.2:2 10.3.1:2 10.3.2:2 10.3.3:2 10.3.4:2
10.4.1:1 10.4.2:1 10.4.3:1 10.4.4:1 10.4.5:1 10.4.6:2 10.4.7:2 10.4.8:2 10.4.9:2 10.4.10:2 10.4.11:2
10.5.1:2 10.5.2:2 10.5.3:2 10.5.4:2 10.5.5:2 10.6.1:2 10.6.2:2 10.7.1:2 10.7.2:2 10.7.3:2
11.1.1:2 11.1.2:2 11.2.1:2 11.2.2:2 11.2.3:2 11.3.1:1 11.3.2:1 11.3.3:2 11.4.1:1 11.4.2:2 11.4.3:2
11.5.1:2 11.6.1:2
13.1.1:2 13.2.1:2 13.2.2:2 13.2.3:2 13.2.4:2 13.2.5:2 13.3.1:2 13.3.2:2
13.4.1:1 13.4.2:2 13.4.3:2 13.4.4:2 13.4.5:2
14.1.1:2 14.1.2:2 14.2.1:1 14.2.2:2 14.2.3:2 14.2.4:2 14.3.1:1 14.3.2:2 14.3.3:2
15.1.1:1 15.1.2:2 15.1.3:2 15.2.1:1 15.2.2:2 15.2.3:2 15.3.1:1 15.3.2:2 15.3.3:2 15.3.4:2
15.3.5:2 15.3.6:2 15.3.7:2
16.1.1:2 16.2.1:2 16.2.2:2 16.2.3:2 16.2.4:2 16.2.5:2 16.3.1:2 16.3.2:2 16.3.3:2 16.3.4:2
16.4.1:2 16.4.2:2 16.4.3:2 16.5.1:2 16.5.2:2 16.5.3:2
`)

// secRow is one requirement row of the checklist.
type secRow struct {
	line                          int
	chapter                       string // the V number of the section it is in
	id, text, level, status, cite string
}

var (
	secIDRe       = regexp.MustCompile(`^\d+\.\d+\.\d+$`)
	secChapterRe  = regexp.MustCompile(`^### V(\d+) `)
	secCitationRe = regexp.MustCompile("`((?:Test|Fuzz)\\w+)` in `([\\w./-]+_test\\.go)`")
)

// secReadChecklist returns the lines of SECURITY.md and its requirement rows.
func secReadChecklist(t *testing.T) ([]string, []secRow) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(secRepoRoot, "SECURITY.md"))
	if err != nil {
		t.Fatalf("read SECURITY.md: %v", err)
	}
	lines := strings.Split(string(b), "\n")
	var rows []secRow
	chapter := ""
	for i, line := range lines {
		if m := secChapterRe.FindStringSubmatch(line); m != nil {
			chapter = m[1]
			continue
		}
		if strings.HasPrefix(line, "## ") {
			chapter = "" // rows belong to the chapter section they are in
		}
		if !strings.HasPrefix(line, "|") {
			continue
		}
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if !secIDRe.MatchString(cells[0]) {
			continue // a header, a separator or another table
		}
		if len(cells) != 5 {
			t.Errorf("SECURITY.md:%d: got %d cells, want 5 (id | requirement | L | status | evidence); a '|' in the text splits a cell", i+1, len(cells))
			continue
		}
		rows = append(rows, secRow{line: i + 1, chapter: chapter, id: cells[0], text: cells[1], level: cells[2], status: cells[3], cite: cells[4]})
	}
	return lines, rows
}

// TestSecurityChecklist checks SECURITY.md: the sections it must have, one
// row for every level 1 and 2 requirement, allowed statuses, and evidence
// that exists — each cited test function in the file named beside it.
func TestSecurityChecklist(t *testing.T) {
	lines, rows := secReadChecklist(t)

	t.Run("sections", func(t *testing.T) {
		for _, want := range secSections {
			if !slices.Contains(lines, want) {
				t.Errorf("SECURITY.md has no line %q", want)
			}
		}
	})

	t.Run("every requirement once, at its level, in its chapter", func(t *testing.T) {
		want := map[string]string{}
		for _, e := range secExpected {
			id, level, _ := strings.Cut(e, ":")
			want[id] = level
		}
		seen := map[string]int{}
		for _, r := range rows {
			if prev, ok := seen[r.id]; ok {
				t.Errorf("SECURITY.md:%d: %s again (first at line %d)", r.line, r.id, prev)
			}
			seen[r.id] = r.line
			level, ok := want[r.id]
			switch {
			case !ok:
				t.Errorf("SECURITY.md:%d: %s is not a level 1 or 2 requirement of these chapters in ASVS 5.0.0", r.line, r.id)
			case r.level != level:
				t.Errorf("SECURITY.md:%d: %s at level %q, want %q", r.line, r.id, r.level, level)
			}
			if chapter, _, _ := strings.Cut(r.id, "."); chapter != r.chapter {
				t.Errorf("SECURITY.md:%d: %s is in section V%s, want V%s", r.line, r.id, r.chapter, chapter)
			}
			if r.text == "" {
				t.Errorf("SECURITY.md:%d: %s has no requirement text", r.line, r.id)
			}
		}
		for _, e := range secExpected {
			id, _, _ := strings.Cut(e, ":")
			if _, ok := seen[id]; !ok {
				t.Errorf("SECURITY.md has no row for %s", id)
			}
		}
	})

	t.Run("statuses and evidence", func(t *testing.T) {
		for _, r := range rows {
			if !slices.Contains(secStatuses, r.status) {
				t.Errorf("SECURITY.md:%d: %s has status %q, want one of %q", r.line, r.id, r.status, secStatuses)
				continue
			}
			cites := secCitationRe.FindAllStringSubmatch(r.cite, -1)
			switch r.status {
			case "pass":
				if len(cites) == 0 {
					t.Errorf("SECURITY.md:%d: %s passes without naming a test (`TestName` in `path/file_test.go`)", r.line, r.id)
				}
			case "not applicable", "not met":
				// The reason (or what is missing) must be said in words.
				if words := len(strings.Fields(secCitationRe.ReplaceAllString(r.cite, ""))); words < 2 {
					t.Errorf("SECURITY.md:%d: %s is %q with %d words of reason, want a reason", r.line, r.id, r.status, words)
				}
			}
		}
	})

	t.Run("cited tests exist", func(t *testing.T) {
		sources := map[string]string{}
		for _, r := range rows {
			for _, c := range secCitationRe.FindAllStringSubmatch(r.cite, -1) {
				name, file := c[1], c[2]
				src, ok := sources[file]
				if !ok {
					b, err := os.ReadFile(filepath.Join(secRepoRoot, filepath.FromSlash(file)))
					if err != nil {
						t.Errorf("SECURITY.md:%d: %s cites %s in %s, which cannot be read: %v", r.line, r.id, name, file, err)
					}
					src = string(b)
					sources[file] = src
				}
				if src != "" && !regexp.MustCompile(`(?m)^func `+name+`\(`).MatchString(src) {
					t.Errorf("SECURITY.md:%d: %s cites %s, but %s has no func %s(", r.line, r.id, name, file, name)
				}
			}
		}
	})
}

// secSources returns the Go files (tests and testdata left out) under the
// repository's cmd, internal and web directories, by path from the root.
func secSources(t *testing.T, ext string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range []string{"cmd", "internal", "web"} {
		err := filepath.WalkDir(filepath.Join(secRepoRoot, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(p, ext) || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(secRepoRoot, p)
			out[filepath.ToSlash(rel)] = string(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s files found under %s", ext, secRepoRoot)
	}
	return out
}

// TestSecuritySourceRules checks rules of the source that no behaviour test
// can show: how SQL is built, which hash functions and packages are used, and
// what our own scripts do in the browser.
func TestSecuritySourceRules(t *testing.T) {
	goFiles := secSources(t, ".go")
	rules := []struct {
		name string
		re   *regexp.Regexp
	}{
		// SQL text is constant and every value a query parameter; a format
		// string holding SQL would splice values into it.
		{"SQL is never built with fmt", regexp.MustCompile("(?s)fmt\\.Sprintf?\\(\\s*(`[^`]*|\"(?:[^\"\\\\\\n]|\\\\.)*)\\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|WHERE|ORDER BY)\\b")},
		{"no broken hash or cipher", regexp.MustCompile(`"crypto/(md5|sha1|des|rc4)"`)},
		{"no unsafe memory and no cgo", regexp.MustCompile(`(?m)^\s*(import\s+)?(_\s+)?"unsafe"\s*$|(?m)^import "C"`)},
		{"no shell between us and a command", regexp.MustCompile(`exec\.Command(Context)?\([^)]*"(sh|bash|/bin/sh|/bin/bash|cmd\.exe)"`)},
		{"no debug endpoints compiled in", regexp.MustCompile(`"net/http/pprof"|"expvar"`)},
		// No response may invite another origin to read it.
		{"no CORS headers", regexp.MustCompile(`Access-Control-Allow-`)},
	}
	for _, rule := range rules {
		t.Run(rule.name, func(t *testing.T) {
			for path, src := range goFiles {
				if m := rule.re.FindString(src); m != "" {
					t.Errorf("%s: got %.120q", path, m)
				}
			}
		})
	}

	scripts := secSources(t, ".js")
	t.Run("our scripts keep nothing in the browser and take no messages", func(t *testing.T) {
		re := regexp.MustCompile(`localStorage|sessionStorage|indexedDB|document\.cookie|addEventListener\(\s*["']message["']|\bonmessage\b`)
		for path, src := range scripts {
			if m := re.FindString(src); m != "" {
				t.Errorf("%s: got %q; sensitive data stays on the server and no script trusts another window", path, m)
			}
		}
	})
}

// secPanickingMembers stands in for a bug: the cluster list panics.
type secPanickingMembers struct{}

func (secPanickingMembers) Members() []bus.Member  { panic("boom: secret-internal-detail") }
func (secPanickingMembers) Online() map[int64]bool { return nil }

// secNoRedirect is a client that shows redirects instead of following them.
var secNoRedirect = &http.Client{
	Timeout:       15 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func secDo(t *testing.T, method, u string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := secNoRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// secLog is a log the server writes while the test reads it: the race
// detector sees no order in between through the network, only through the lock.
type secLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *secLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *secLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *secLog) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Reset()
}

// TestSecurityBareRouter checks what the router does on its own, without a
// database: request framing, methods, paths that must not exist, the
// last-resort error handler and the request log.
func TestSecurityBareRouter(t *testing.T) {
	var logs secLog
	srv := httptest.NewServer(web.New(web.Deps{
		Instance: "security-test",
		Logger:   slog.New(slog.NewTextHandler(&logs, nil)),
		Members:  secPanickingMembers{},
	}))
	defer srv.Close()

	t.Run("TRACE is refused", func(t *testing.T) {
		for _, path := range []string{"/", "/signin"} {
			if resp, _ := secDo(t, "TRACE", srv.URL+path, nil); resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("TRACE %s: got %d, want 405", path, resp.StatusCode)
			}
		}
	})

	t.Run("nothing but the embedded files is served", func(t *testing.T) {
		for _, path := range []string{"/static/", "/static/vendor/", "/.git/config", "/.git/HEAD", "/debug/pprof/", "/debug/vars"} {
			if resp, _ := secDo(t, http.MethodGet, srv.URL+path, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s: got %d, want 404", path, resp.StatusCode)
			}
		}
	})

	t.Run("no response lets another origin read it", func(t *testing.T) {
		for _, path := range []string{"/signin", "/healthz", "/api/v1/me", "/nothing-here"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.Header.Set("Origin", "https://evil.example")
			resp, err := secNoRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for k := range resp.Header {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("GET %s from another origin: got %s: %q, want no CORS header", path, k, resp.Header.Get(k))
				}
			}
		}
	})

	t.Run("Transfer-Encoding frames a request that also has Content-Length", func(t *testing.T) {
		// Read by its Content-Length, the first request would swallow part
		// of the chunked terminator and the second request line would be
		// garbage; read by Transfer-Encoding (RFC 9112 6.3), the second is
		// a request of its own.
		c, err := net.DialTimeout("tcp", strings.TrimPrefix(srv.URL, "http://"), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "POST /signout HTTP/1.1\r\nHost: security.test\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
			"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"+
			"GET /second-request HTTP/1.1\r\nHost: security.test\r\n\r\n")
		br := bufio.NewReader(c)
		var got []int
		for range 2 {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("reading response %d: %v (got %v before)", len(got)+1, err, got)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got = append(got, resp.StatusCode)
		}
		if want := []int{http.StatusSeeOther, http.StatusNotFound}; !slices.Equal(got, want) {
			t.Errorf("got statuses %v, want %v (sign-out redirect, then a 404 for the second request)", got, want)
		}
	})

	t.Run("a panic is logged and answered with a generic message", func(t *testing.T) {
		logs.Reset()
		resp, body := secDo(t, http.MethodGet, srv.URL+"/api/v1/cluster", nil)
		if resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("got %d %s, want 500", resp.StatusCode, body)
		}
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "internal" || e.Error.Message == "" {
			t.Errorf("got %s, want the API's internal error", body)
		}
		for _, leak := range []string{"boom", "secret-internal-detail", "goroutine", ".go:"} {
			if strings.Contains(body, leak) {
				t.Errorf("the answer shows %q: %s", leak, body)
			}
		}
		for _, want := range []string{"panic in handler", "secret-internal-detail", "goroutine "} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("the log lacks %q:\n%s", want, logs.String())
			}
		}
	})

	t.Run("a path cannot forge log lines", func(t *testing.T) {
		forged := "/nothing%0Atime=2026-01-01T00:00:00Z%20level=ERROR%20msg=forged%0D%0Aevil=1"
		for _, format := range []string{"text", "json"} {
			var buf secLog
			h := slog.Handler(slog.NewTextHandler(&buf, nil))
			if format == "json" {
				h = slog.NewJSONHandler(&buf, nil)
			}
			s := httptest.NewServer(web.New(web.Deps{Instance: "log-test", Logger: slog.New(h)}))
			if resp, _ := secDo(t, http.MethodGet, s.URL+forged, nil); resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s: got %d, want 404", format, resp.StatusCode)
			}
			s.Close()
			lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Errorf("%s: got %d log lines, want 1:\n%s", format, len(lines), buf.String())
			}
			for _, l := range lines {
				if strings.HasPrefix(l, "time=2026-01-01") || strings.HasPrefix(l, "evil") {
					t.Errorf("%s: a forged line: %q", format, l)
				}
				if format == "json" && !json.Valid([]byte(l)) {
					t.Errorf("json: a line that is not JSON: %q", l)
				}
			}
		}
	})
}

// TestSecurityOIDCIssuerMustMatch: a provider whose metadata names another
// issuer than the configured one is not used (no one is sent to it), and one
// that matches gets an authorization request with PKCE S256, a state and a
// nonce.
func TestSecurityOIDCIssuerMustMatch(t *testing.T) {
	var (
		mu      sync.Mutex
		claimed string // the issuer the metadata claims
	)
	claim := func(issuer string) {
		mu.Lock()
		defer mu.Unlock()
		claimed = issuer
	}
	provider := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		claimed := claimed
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": claimed, "authorization_endpoint": claimed + "/authorize", "token_endpoint": claimed + "/token",
			"jwks_uri": claimed + "/keys", "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	}))
	defer provider.Close()

	start := func(t *testing.T) *http.Response {
		t.Helper()
		site := httptest.NewServer(web.New(web.Deps{
			Instance: "oidc-issuer-test",
			Sessions: scs.New(),
			SSO: &web.SSO{
				Issuer: provider.URL, ClientID: "nodecommunity", RedirectURL: "http://127.0.0.1/auth/oidc/callback",
				EmailDomains: []string{"example.test"}, ProviderName: "Test Login",
			},
		}))
		defer site.Close()
		resp, _ := secDo(t, http.MethodGet, site.URL+"/auth/oidc/start", nil)
		return resp
	}

	t.Run("metadata naming another issuer is refused", func(t *testing.T) {
		claim("https://impostor.example")
		resp := start(t)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Location") != "" {
			t.Errorf("got %d to %q, want 503 and no redirect to the impostor", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("the configured issuer is used, with PKCE, state and nonce", func(t *testing.T) {
		claim(provider.URL)
		resp := start(t)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), provider.URL+"/authorize?") {
			t.Fatalf("got %d to %q, want 302 to %s/authorize", resp.StatusCode, resp.Header.Get("Location"), provider.URL)
		}
		q := loc.Query()
		if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 || len(q.Get("state")) < 43 || len(q.Get("nonce")) < 43 {
			t.Errorf("got %v, want an S256 code challenge and a state and nonce of 256 bits", q)
		}
	})
}

// secCookie is the value of the session cookie a response sets.
func secCookie(h http.Header) string {
	for _, line := range h.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(line); err == nil && c.Name == SessionCookie && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// TestSecurityAccountRules checks the password rules and the account's
// boundaries on a real instance: long passwords of any composition, checked
// exactly as given; forms that mask them and let password managers fill them;
// profile updates that cannot reach the account; form values only from the
// body; and session and access tokens of at least 128 random bits.
func TestSecurityAccountRules(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	u := in.url
	signupNode(t, u, "sec-steward") // the first node is the steward; the rest are members

	signup := func(t *testing.T, handle, password string) (int, []byte) {
		t.Helper()
		return apiDo(t, http.MethodPost, u+"/api/v1/signup", "", map[string]string{
			"email": handle + "@example.test", "password": password, "handle": handle, "display_name": "Sec " + handle,
		})
	}
	login := func(t *testing.T, email, password string) (int, []byte) {
		t.Helper()
		return apiDo(t, http.MethodPost, u+"/api/v1/login", "", map[string]string{"email": email, "password": password})
	}

	t.Run("64 and 128 characters of any composition are accepted", func(t *testing.T) {
		for handle, pw := range map[string]string{
			"sec-long":    strings.Repeat("lowercase", 8)[:64],
			"sec-unicode": strings.Repeat("ü", 121) + " 🔑 end.",
		} {
			if st, body := signup(t, handle, pw); st != http.StatusCreated {
				t.Errorf("sign up with a %d-character password: got %d %s, want 201", len([]rune(pw)), st, body)
				continue
			}
			if st, body := login(t, handle+"@example.test", pw); st != http.StatusOK {
				t.Errorf("log in with it: got %d %s, want 200", st, body)
			}
		}
	})

	t.Run("the password is checked exactly as given", func(t *testing.T) {
		pw := "  Tangerine Kettle Σ 9 spaces around  "
		if st, body := signup(t, "sec-exact", pw); st != http.StatusCreated {
			t.Fatalf("sign up: got %d %s", st, body)
		}
		for name, variant := range map[string]string{
			"trimmed": strings.TrimSpace(pw), "upper case": strings.ToUpper(pw), "lower case": strings.ToLower(pw), "one character short": pw[:len(pw)-1],
		} {
			if st, _ := login(t, "sec-exact@example.test", variant); st != http.StatusUnauthorized {
				t.Errorf("%s: got %d, want 401", name, st)
			}
		}
		if st, body := login(t, "sec-exact@example.test", pw); st != http.StatusOK {
			t.Errorf("exact: got %d %s, want 200", st, body)
		}
	})

	t.Run("the forms mask passwords, let managers fill them, and ask nothing else", func(t *testing.T) {
		inputName := regexp.MustCompile(`<input[^>]*\bname="([^"]+)"`)
		for path, want := range map[string]struct {
			autocomplete string
			names        []string
		}{
			"/signin": {"current-password", []string{"email", "password", "next"}},
			"/signup": {"new-password", []string{"email", "display_name", "handle", "password", "invite"}},
		} {
			resp, page := secDo(t, http.MethodGet, u+path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: got %d", path, resp.StatusCode)
			}
			if !strings.Contains(page, `type="password"`) || !strings.Contains(page, `autocomplete="`+want.autocomplete+`"`) {
				t.Errorf("GET %s: want a type=password input with autocomplete=%s", path, want.autocomplete)
			}
			for _, bad := range []string{"onpaste", "oncopy", "ondrop", `autocomplete="off"`} {
				if strings.Contains(page, bad) {
					t.Errorf("GET %s: got %s, which keeps password managers or paste out", path, bad)
				}
			}
			for _, m := range inputName.FindAllStringSubmatch(page, -1) {
				if !slices.Contains(want.names, m[1]) {
					t.Errorf("GET %s: got an input %q, want only %v (no hint or secret question)", path, m[1], want.names)
				}
			}
		}
	})

	t.Run("a profile update cannot reach the account", func(t *testing.T) {
		token := signupNode(t, u, "sec-member")
		for _, body := range []string{`{"email":"taken-over@example.test"}`, `{"steward":true}`, `{"people_analyst":true}`, `{"password":"new one entirely"}`} {
			if st, resp := apiDo(t, http.MethodPatch, u+"/api/v1/me", token, []byte(body)); st != http.StatusBadRequest {
				t.Errorf("PATCH /api/v1/me %s: got %d %s, want 400", body, st, resp)
			}
		}
		st, resp := apiDo(t, http.MethodGet, u+"/api/v1/me", token, nil)
		var me struct {
			Email         string `json:"email"`
			Steward       bool   `json:"steward"`
			PeopleAnalyst bool   `json:"people_analyst"`
		}
		if st != http.StatusOK || json.Unmarshal(resp, &me) != nil || me.Email != "sec-member@example.test" || me.Steward || me.PeopleAnalyst {
			t.Errorf("GET /api/v1/me after: got %d %s, want the account unchanged", st, resp)
		}
	})

	t.Run("form values come from the body, not the query string", func(t *testing.T) {
		q := url.Values{"email": {"sec-member@example.test"}, "password": {testPassword}}
		resp, _ := secDo(t, http.MethodPost, u+"/signin?"+q.Encode(), strings.NewReader(""))
		if resp.StatusCode != http.StatusUnauthorized || secCookie(resp.Header) != "" {
			t.Errorf("credentials in the query string: got %d (cookie %v), want 401 and no session", resp.StatusCode, secCookie(resp.Header) != "")
		}
	})

	t.Run("session and access tokens carry at least 128 random bits", func(t *testing.T) {
		token := regexp.MustCompile(`^[A-Za-z0-9_-]{22,}$`)
		var cookies, tokens []string
		for range 2 {
			req, _ := http.NewRequest(http.MethodPost, u+"/api/v1/login", strings.NewReader(`{"email":"sec-member@example.test","password":"`+testPassword+`"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := secNoRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var out struct{ Token string }
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil {
				t.Fatalf("login: got %d (%v)", resp.StatusCode, err)
			}
			cookies = append(cookies, secCookie(resp.Header))
			tokens = append(tokens, strings.TrimPrefix(out.Token, "nc_"))
		}
		for what, pair := range map[string][]string{"session token": cookies, "access token": tokens} {
			for _, v := range pair {
				if !token.MatchString(v) {
					t.Errorf("%s %q: want 22 or more base64url characters (128 bits or more)", what, v)
				}
			}
			if pair[0] == pair[1] {
				t.Errorf("two sign-ins got the same %s", what)
			}
		}
	})
}
