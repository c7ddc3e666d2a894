package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
	"github.com/nodecommunity/nodecommunity/web/htmlcheck"
)

var xssNonce = regexp.MustCompile(`script-src 'nonce-([^']+)'`)

// xssPage fetches a page as the token's node and fails on anything executable
// in it: scripts must carry the nonce of this response's own CSP header.
func xssPage(t *testing.T, u, token string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := apiClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("GET %s = %d: %.300s", u, resp.StatusCode, b)
	}
	m := xssNonce.FindStringSubmatch(resp.Header.Get("Content-Security-Policy"))
	if m == nil {
		t.Fatalf("GET %s: no CSP nonce", u)
	}
	for _, p := range htmlcheck.Check(string(b), htmlcheck.Options{Nonce: m[1], ScriptPrefix: "/static/"}) {
		t.Errorf("GET %s: %v", u, p)
	}
	return string(b)
}

// xssPost sends one JSON request and returns the status and the decoded
// response; a 5xx fails the test (hostile text is bad input, never our error).
func xssPost(t *testing.T, method, u, token string, body any) (int, map[string]any) {
	t.Helper()
	status, resp := apiDo(t, method, u, token, body)
	if status >= 500 {
		t.Fatalf("%s %s = %d: %.300s", method, u, status, resp)
	}
	var out map[string]any
	_ = json.Unmarshal(resp, &out)
	return status, out
}

// xssStored reports whether a create succeeded (201). Text with NUL, which
// PostgreSQL cannot store, must instead be a 422 naming a field; anything
// else fails the test.
func xssStored(t *testing.T, what, s string, status int, out map[string]any) bool {
	t.Helper()
	if strings.ContainsRune(s, 0) {
		if e, _ := out["error"].(map[string]any); status != http.StatusUnprocessableEntity || e["field"] == nil || e["field"] == "" {
			t.Errorf("%s %q with NUL = %d %v, want 422 naming the field", what, clip(s), status, out)
		}
		return false
	}
	if status != http.StatusCreated {
		t.Errorf("%s %q = %d %v, want 201", what, clip(s), status, out)
		return false
	}
	return true
}

func idOf(t *testing.T, v map[string]any, keys ...string) int64 {
	t.Helper()
	for _, k := range keys {
		if m, ok := v[k].(map[string]any); ok {
			v = m
		}
	}
	id, ok := v["id"].(float64)
	if !ok {
		t.Fatalf("no id in %v", v)
	}
	return int64(id)
}

// TestXSSCorpusEndToEnd posts every corpus string through the JSON API as
// share bodies, profile fields and feedback threads and replies, and fetches
// the pages that show them from a real instance: nothing executable may come
// out, and no hostile input may cause a 5xx.
func TestXSSCorpusEndToEnd(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "xss", "REGISTRATION": "open"})
	ana := signupNode(t, in.url, "ana")
	bob := signupNode(t, in.url, "bob")
	signupNode(t, in.url, "admin")
	api := in.url + "/api/v1"

	t.Run("shares", func(t *testing.T) {
		var ids []int64
		for _, s := range htmlcheck.Hostile {
			status, out := xssPost(t, http.MethodPost, api+"/shares", ana, map[string]string{"body": s, "audience": "everyone"})
			if !xssStored(t, "share", s, status, out) {
				continue
			}
			ids = append(ids, idOf(t, out))
		}
		for _, id := range ids {
			xssPage(t, fmt.Sprintf("%s/shares/%d", in.url, id), bob)
		}
		xssPage(t, in.url+"/", bob)
		xssPage(t, in.url+"/people/ana", bob)
		for _, s := range htmlcheck.Hostile {
			xssPage(t, in.url+"/search?q="+url.QueryEscape(s), bob)
		}
	})

	t.Run("profile", func(t *testing.T) {
		fields := []string{"display_name", "title", "location", "bio", "skills", "offers", "needs"}
		saved := 0
		for _, s := range htmlcheck.Hostile {
			for _, f := range fields {
				var v any = s
				switch f {
				case "skills":
					v = []string{s}
				case "offers", "needs":
					v = []map[string]any{{"body": s, "tags": []string{s}}}
				}
				status, out := xssPost(t, http.MethodPatch, api+"/me", bob, map[string]any{f: v})
				switch status {
				case http.StatusOK:
					saved++
				case http.StatusUnprocessableEntity:
					if e, _ := out["error"].(map[string]any); e["field"] == "" || e["field"] == nil {
						t.Errorf("PATCH me %s=%q: 422 without a field: %v", f, clip(s), out)
					}
				default:
					t.Errorf("PATCH me %s=%q = %d %v", f, clip(s), status, out)
				}
			}
			xssPage(t, in.url+"/people/bob", ana)
			xssPage(t, in.url+"/people", ana)
		}
		if saved < len(htmlcheck.Hostile) {
			t.Errorf("only %d profile fields saved: the corpus barely reached the page", saved)
		}
		xssPage(t, in.url+"/settings/profile", bob)
	})

	t.Run("threads and replies", func(t *testing.T) {
		for _, s := range htmlcheck.Hostile {
			title := s
			if len([]rune(title)) > 200 {
				title = string([]rune(title)[:200])
			}
			status, out := xssPost(t, http.MethodPost, api+"/threads", ana, map[string]any{
				"to_handles": []string{"bob"}, "kind": "feedback_request", "title": title, "body": s,
			})
			if !xssStored(t, "thread", s, status, out) {
				continue
			}
			id := idOf(t, out, "thread")
			status, out = xssPost(t, http.MethodPost, fmt.Sprintf("%s/threads/%d/replies", api, id), bob, map[string]any{"body": s})
			xssStored(t, "reply", s, status, out)
			xssPage(t, fmt.Sprintf("%s/threads/%d", in.url, id), ana)
			xssPage(t, fmt.Sprintf("%s/threads/%d", in.url, id), bob)
		}
		xssPage(t, in.url+"/threads", bob)
		xssPage(t, in.url+"/", bob) // "feedback asked of you"
	})

	t.Run("homoglyph mentions do not link", func(t *testing.T) {
		body := "thanks @admin, not " + htmlcheck.Homoglyph + " nor @admin\u0430"
		status, out := xssPost(t, http.MethodPost, api+"/shares", ana, map[string]string{"body": body, "audience": "everyone"})
		if status != http.StatusCreated {
			t.Fatalf("share = %d %v", status, out)
		}
		if m, _ := out["mentions"].([]any); len(m) > 1 {
			t.Errorf("mentions = %v, want admin alone", m)
		}
		page := xssPage(t, fmt.Sprintf("%s/shares/%d", in.url, idOf(t, out)), bob)
		if n := strings.Count(page, `href="/people/admin"`); n != 1 {
			t.Errorf("%d links to /people/admin, want 1 (the real @admin only)", n)
		}
		if !strings.Contains(page, htmlcheck.Homoglyph) {
			t.Errorf("the homoglyph text is not on the page")
		}
	})
}

// xssFrame is one server-sent event as the browser's EventSource reads it.
type xssFrame struct{ id, event, retry, data string }

// parseFrames reads a stream as the HTML standard's EventSource does: lines
// end at CRLF, LF or a lone CR; a blank line dispatches the event.
func parseFrames(stream string) []xssFrame {
	var out []xssFrame
	var cur xssFrame
	var data []string
	for _, line := range strings.Split(strings.ReplaceAll(strings.ReplaceAll(stream, "\r\n", "\n"), "\r", "\n"), "\n") {
		if line == "" {
			if data != nil {
				cur.data = strings.Join(data, "\n")
				out = append(out, cur)
			}
			cur, data = xssFrame{}, nil
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			cur.id = value
		case "event":
			cur.event = value
		case "retry":
			cur.retry = value
		case "data":
			data = append(data, value)
		}
	}
	return out
}

// TestXSSLiveStreamFramesCannotBeForged: the dashboard's live stream sends
// rendered shares as server-sent events. A carriage return in a share ends a
// line for the browser as much as a newline, so it must not let the author
// start an id:, event: or retry: field in every reader's stream (a huge retry
// stops reconnection; a forged id skips events on resume).
func TestXSSLiveStreamFramesCannotBeForged(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "xss-live", "REGISTRATION": "open"})
	ana := signupNode(t, in.url, "ana")
	bob := signupNode(t, in.url, "bob")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, in.url+"/live", nil)
	req.Header.Set("Authorization", "Bearer "+bob)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /live = %d", resp.StatusCode)
	}
	body := "forged\rid: 999999999\revent: reconnect\rretry: 999999999\rdata: <b>x</b>\r\rafter"
	status, out := xssPost(t, http.MethodPost, in.url+"/api/v1/shares", ana, map[string]string{"body": body, "audience": "everyone"})
	if status != http.StatusCreated {
		t.Fatalf("share = %d %v", status, out)
	}
	marker := fmt.Sprintf(`data-share-id="%d"`, idOf(t, out))

	// Read until the frame carrying the share has ended.
	var raw strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		raw.Write(buf[:n])
		if i := strings.Index(raw.String(), marker); i >= 0 && strings.Contains(raw.String()[i:], "\n\n") {
			break
		}
		if err != nil {
			t.Fatalf("stream ended before the share arrived (%v): %q", err, raw.String())
		}
	}
	var got *xssFrame
	for _, f := range parseFrames(raw.String()) {
		if f.retry != "" {
			t.Errorf("a frame sets retry: %q", f.retry)
		}
		if strings.Contains(f.data, marker) {
			got = &f
		}
	}
	if got == nil {
		t.Fatalf("no frame holds the share: %q", raw.String())
	}
	if got.event != "share" || got.id == "999999999" || strings.Contains(got.data, "<b>") {
		t.Errorf("share frame: event %q id %q (want share and the stream's sequence); raw %q", got.event, got.id, raw.String())
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
