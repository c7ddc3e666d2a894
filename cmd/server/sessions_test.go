package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

type listedSession struct {
	ID         string `json:"id"`
	CreatedAt  string `json:"created_at"`
	LastSeenAt string `json:"last_seen_at"`
	Address    string `json:"address"`
	UserAgent  string `json:"user_agent"`
	Current    bool   `json:"current"`
}

// sessList lists the sessions through the API, with a token or a browser.
func sessList(t *testing.T, c *http.Client, baseURL, token string) ([]listedSession, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", baseURL+"/api/v1/me/sessions", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Sessions []listedSession }
	if err := json.NewDecoder(strings.NewReader(readAll(t, resp))).Decode(&body); err != nil {
		t.Fatalf("sessions: status %d: %v", resp.StatusCode, err)
	}
	return body.Sessions, ""
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSessionsListAndEnd(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "REGISTRATION": "open"})
	token := signupNode(t, in.url, "sessme")
	a := pwBrowser(t, in.url, "sessme@example.test", testPassword)
	b := pwBrowser(t, in.url, "sessme@example.test", testPassword)
	u, _ := url.Parse(in.url + "/")

	t.Run("listed without the token", func(t *testing.T) {
		status, body := apiDo(t, "GET", in.url+"/api/v1/me/sessions", token, nil)
		if status != http.StatusOK {
			t.Fatalf("got %d, want 200: %s", status, body)
		}
		var got struct{ Sessions []listedSession }
		_ = json.Unmarshal(body, &got)
		if len(got.Sessions) != 2 {
			t.Fatalf("got %d sessions, want 2: %s", len(got.Sessions), body)
		}
		for _, s := range got.Sessions {
			if len(s.ID) != 16 || s.CreatedAt == "" || s.LastSeenAt == "" || s.Address != "127.0.0.1" || !strings.Contains(s.UserAgent, "Go-http-client") {
				t.Errorf("session %+v: want an id, times, address 127.0.0.1 and the browser", s)
			}
		}
		for _, c := range []*http.Client{a, b} {
			for _, ck := range c.Jar.Cookies(u) {
				if strings.Contains(string(body), ck.Value) {
					t.Errorf("the list shows a session token")
				}
			}
		}
	})
	t.Run("page marks this browser", func(t *testing.T) {
		status, _, page := pwGet(t, a, in.url+"/settings/sessions")
		if status != http.StatusOK {
			t.Fatalf("got %d, want 200", status)
		}
		if got := strings.Count(page, `data-testid="session"`); got != 2 {
			t.Errorf("got %d sessions on the page, want 2", got)
		}
		if got := strings.Count(page, `data-testid="session-current"`); got != 1 {
			t.Errorf("got %d current sessions, want 1", got)
		}
		if _, _, profile := pwGet(t, a, in.url+"/settings/profile"); !strings.Contains(profile, `href="/settings/sessions"`) {
			t.Errorf("profile page does not link to the sessions")
		}
	})
	list, _ := sessList(t, a, in.url, "")
	var other string
	for _, s := range list {
		if !s.Current {
			other = s.ID
		}
	}
	if other == "" {
		t.Fatalf("no other session in %+v", list)
	}
	for _, c := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"malformed", `{"id":`, http.StatusBadRequest, ""},
		{"wrong password", map[string]any{"id": other, "password": "not my password"}, http.StatusUnprocessableEntity, "password"},
		{"no password", map[string]any{"id": other}, http.StatusUnprocessableEntity, "password"},
		{"bad id", map[string]any{"id": "nope", "password": testPassword}, http.StatusUnprocessableEntity, "id"},
		{"unknown id", map[string]any{"id": "0000000000000000", "password": testPassword}, http.StatusNotFound, "id"},
		{"not signed in", map[string]any{"id": other, "password": testPassword}, http.StatusUnauthorized, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := token
			if c.name == "not signed in" {
				tok = ""
			}
			status, body := apiDo(t, "POST", in.url+"/api/v1/me/sessions/end", tok, c.body)
			if status != c.status {
				t.Fatalf("got %d, want %d: %s", status, c.status, body)
			}
			if c.field != "" {
				if got := pwFieldOf(t, body); got != c.field {
					t.Errorf("got field %q, want %q", got, c.field)
				}
			}
		})
	}
	t.Run("one ended from the page", func(t *testing.T) {
		resp, err := a.PostForm(in.url+"/settings/sessions/end", url.Values{"id": {other}, "password": {testPassword}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings/sessions?ended=1" {
			t.Fatalf("got %d to %q, want 303 to /settings/sessions?ended=1", resp.StatusCode, resp.Header.Get("Location"))
		}
		if status, loc, _ := pwGet(t, b, in.url+"/settings/profile"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
			t.Errorf("ended browser: got %d to %q, want a redirect to /signin", status, loc)
		}
		if status, _, _ := pwGet(t, a, in.url+"/settings/profile"); status != http.StatusOK {
			t.Errorf("this browser: got %d, want 200", status)
		}
		if list, _ := sessList(t, a, in.url, ""); len(list) != 1 {
			t.Errorf("got %d sessions, want 1", len(list))
		}
		pool := testenv.Pool(t, dbURL)
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'end_session'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("audit rows: got %d (%v), want 1", n, err)
		}
	})
	t.Run("wrong password on the page", func(t *testing.T) {
		resp, err := a.PostForm(in.url+"/settings/sessions/end", url.Values{"all": {"1"}, "password": {"not my password"}})
		if err != nil {
			t.Fatal(err)
		}
		page := readAll(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "The password is wrong.") {
			t.Errorf("got %d, want 422 with the message", resp.StatusCode)
		}
	})
	t.Run("all ended, tokens kept", func(t *testing.T) {
		status, body := apiDo(t, "POST", in.url+"/api/v1/me/sessions/end", token, map[string]any{"all": true, "password": testPassword})
		if status != http.StatusNoContent {
			t.Fatalf("got %d, want 204: %s", status, body)
		}
		if status, loc, _ := pwGet(t, a, in.url+"/settings/profile"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
			t.Errorf("browser: got %d to %q, want a redirect to /signin", status, loc)
		}
		if status, _ := apiDo(t, "GET", in.url+"/api/v1/me", token, nil); status != http.StatusOK {
			t.Errorf("token: got %d, want 200", status)
		}
	})
}

func TestSessionsStewardButton(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	signupNode(t, in.url, "btnsteward")
	signupNode(t, in.url, "btnmember")
	steward := pwBrowser(t, in.url, "btnsteward@example.test", testPassword)
	member := pwBrowser(t, in.url, "btnmember@example.test", testPassword)
	t.Run("shown to stewards only", func(t *testing.T) {
		if _, _, page := pwGet(t, steward, in.url+"/people/btnmember"); !strings.Contains(page, `data-testid="end-person-sessions"`) {
			t.Errorf("steward does not see the button")
		}
		if _, _, page := pwGet(t, member, in.url+"/people/btnsteward"); strings.Contains(page, `data-testid="end-person-sessions"`) {
			t.Errorf("member sees the button")
		}
	})
	t.Run("member refused", func(t *testing.T) {
		resp, err := member.PostForm(in.url+"/nodes/btnsteward/sessions/end", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("got %d, want 403", resp.StatusCode)
		}
	})
	t.Run("steward ends them", func(t *testing.T) {
		resp, err := steward.PostForm(in.url+"/nodes/btnmember/sessions/end", url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/people/btnmember" {
			t.Fatalf("got %d to %q, want 303 to /people/btnmember", resp.StatusCode, resp.Header.Get("Location"))
		}
		if status, loc, _ := pwGet(t, member, in.url+"/settings/profile"); status != http.StatusSeeOther || !strings.HasPrefix(loc, "/signin") {
			t.Errorf("member's browser: got %d to %q, want a redirect to /signin", status, loc)
		}
	})
}
