package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
	"github.com/nodecommunity/nodecommunity/web"
)

// limitsMust sends one JSON request and returns the decoded response, failing
// unless the status is want.
func limitsMust(t *testing.T, method, u, token string, body any, want int) map[string]any {
	t.Helper()
	status, resp := apiDo(t, method, u, token, body)
	if status != want {
		t.Fatalf("%s %s = %d, want %d: %.300s", method, u, status, want, resp)
	}
	var out map[string]any
	_ = json.Unmarshal(resp, &out)
	return out
}

// limitsError decodes an API error.
func limitsError(body []byte) (code, field, message string) {
	var e struct {
		Error struct{ Code, Field, Message string }
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Code, e.Error.Field, e.Error.Message
}

var pathParam = regexp.MustCompile(`\{(\w+)(:[^}]*)?\}`)

// TestLimitsEndToEnd: on a real instance, every route that takes a body
// answers 413 with a message to one over MaxRequestBody (announced or
// chunked), every text field of the JSON API refuses an oversize value with a
// 422 naming the field, and query filters with text PostgreSQL cannot take
// are a 422 naming the parameter — never a 5xx, and nothing half-written.
func TestLimitsEndToEnd(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "limits", "REGISTRATION": "open"})
	ana := signupNode(t, in.url, "ana")
	bob := signupNode(t, in.url, "bob")
	api := in.url + "/api/v1"

	limitsMust(t, "POST", api+"/communities", ana, map[string]any{"name": "Ops", "slug": "ops", "purpose": "Run things"}, http.StatusCreated)
	limitsMust(t, "POST", api+"/communities/ops/join", bob, nil, http.StatusOK)
	share := idOf(t, limitsMust(t, "POST", api+"/shares", ana, map[string]any{"body": "hello", "audience": "everyone"}, http.StatusCreated))
	thread := idOf(t, limitsMust(t, "POST", api+"/threads", ana, map[string]any{"community_slug": "ops", "kind": "idea", "title": "An idea", "body": "b"}, http.StatusCreated), "thread")
	reply := idOf(t, limitsMust(t, "POST", fmt.Sprintf("%s/threads/%d/replies", api, thread), bob, map[string]any{"body": "r"}, http.StatusCreated), "reply")
	closes := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	proposal := idOf(t, limitsMust(t, "POST", api+"/proposals", ana, map[string]any{"community_slug": "ops", "title": "P", "body": "b", "process": "consent", "closes_at": closes}, http.StatusCreated), "proposal")
	ask := idOf(t, limitsMust(t, "POST", api+"/asks", ana, map[string]any{"title": "Who knows Go?", "body": "b", "tags": []string{"go"}}, http.StatusCreated), "ask")

	t.Run("oversize bodies on every route that takes one", func(t *testing.T) {
		big := strings.Repeat("x", web.MaxRequestBody+1)
		n := 0
		for _, rt := range web.Routes() {
			if rt.Method == "GET" || rt.Method == "HEAD" || rt.Method == "OPTIONS" || rt.Method == "CONNECT" || rt.Method == "TRACE" || rt.Pattern == "/import" {
				continue
			}
			path := pathParam.ReplaceAllStringFunc(rt.Pattern, func(p string) string {
				switch name := pathParam.FindStringSubmatch(p)[1]; name {
				case "slug":
					return "ops"
				case "handle":
					return "bob"
				case "reaction":
					return "thanks"
				default:
					return fmt.Sprint(share)
				}
			})
			path = strings.ReplaceAll(path, "*", "x")
			n++
			for _, chunkedBody := range []bool{false, true} {
				var body io.Reader = strings.NewReader(`{"body":"` + big + `"}`)
				if chunkedBody {
					body = io.MultiReader(body) // no length: sent chunked
				}
				req, _ := http.NewRequest(rt.Method, in.url+path, body)
				req.Header.Set("Authorization", "Bearer "+bob)
				ct := "application/x-www-form-urlencoded"
				if strings.HasPrefix(path, "/api/") {
					ct = "application/json"
				}
				req.Header.Set("Content-Type", ct)
				resp, err := apiClient.Do(req)
				if err != nil {
					t.Errorf("%s %s (chunked %v): %v", rt.Method, path, chunkedBody, err)
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusRequestEntityTooLarge {
					t.Errorf("%s %s (chunked %v) = %d, want 413: %.200s", rt.Method, path, chunkedBody, resp.StatusCode, b)
					continue
				}
				if ct == "application/json" {
					if code, _, msg := limitsError(b); code != "too_large" || !strings.Contains(msg, "1 MiB") {
						t.Errorf("%s %s: error %q %q, want too_large naming 1 MiB", rt.Method, path, code, msg)
					}
				} else if !strings.Contains(string(b), "larger than 1 MiB") {
					t.Errorf("%s %s: the 413 page does not say why: %.300s", rt.Method, path, b)
				}
			}
		}
		if n < 40 {
			t.Errorf("only %d routes take a body: the walk missed most of them", n)
		}
		// Nothing was written by any of them.
		out := limitsMust(t, "GET", api+"/feed?limit=100", bob, nil, http.StatusOK)
		if shares, _ := out["shares"].([]any); len(shares) != 1 {
			t.Errorf("feed holds %d shares after the oversize posts, want the 1 fixture", len(shares))
		}
	})

	t.Run("oversize text fields", func(t *testing.T) {
		long := strings.Repeat("x", 20_001) // over every text limit, far under the body limit
		cases := []struct {
			method, path, token string
			base                map[string]any
			fields              []string
		}{
			// invite is left out: it is only hashed and compared, never stored, and
			// with open registration an unusable one is ignored by design.
			{"POST", "/signup", "", map[string]any{"email": "c@example.test", "password": testPassword, "handle": "cy", "display_name": "Cy"},
				[]string{"email", "password", "handle", "display_name"}},
			{"PATCH", "/me", bob, map[string]any{}, []string{"display_name", "title", "location", "bio", "skills", "offers", "needs"}},
			{"POST", "/tokens", bob, map[string]any{"name": "ci"}, []string{"name"}},
			{"POST", "/invites", ana, map[string]any{"email": "d@example.test"}, []string{"email"}},
			{"POST", "/connections", ana, map[string]any{"to_handle": "bob", "kind": "advice"}, []string{"to_handle", "kind"}},
			{"POST", "/communities", ana, map[string]any{"name": "Dev", "slug": "dev", "purpose": "p"}, []string{"name", "slug", "purpose"}},
			{"PATCH", "/communities/ops", ana, map[string]any{"purpose": "p"}, []string{"purpose"}},
			{"POST", "/communities/ops/shares", ana, map[string]any{"body": "b"}, []string{"body"}},
			{"POST", "/shares", ana, map[string]any{"body": "b", "audience": "everyone"}, []string{"body", "audience"}},
			{"PATCH", fmt.Sprintf("/shares/%d", share), ana, map[string]any{"body": "b"}, []string{"body"}},
			{"POST", fmt.Sprintf("/shares/%d/reshare", share), bob, map[string]any{"body": "b"}, []string{"body", "community_slug"}},
			{"POST", fmt.Sprintf("/shares/%d/marks", share), bob, map[string]any{"verdict": "disputed", "reason": "r"}, []string{"verdict", "reason", "source"}},
			{"PUT", fmt.Sprintf("/shares/%d/correction", share), ana, map[string]any{"body": "b"}, []string{"body"}},
			{"POST", "/threads", ana, map[string]any{"community_slug": "ops", "kind": "idea", "title": "t", "body": "b"}, []string{"community_slug", "kind", "title", "body", "due_at"}},
			{"POST", fmt.Sprintf("/threads/%d/replies", thread), bob, map[string]any{"body": "b"}, []string{"body"}},
			{"PATCH", fmt.Sprintf("/threads/%d/replies/%d", thread, reply), bob, map[string]any{"body": "b"}, []string{"body"}},
			{"POST", fmt.Sprintf("/threads/%d/replies/%d/reactions", thread, reply), ana, map[string]any{"reaction": "thanks"}, []string{"reaction"}},
			{"POST", fmt.Sprintf("/threads/%d/resolve", thread), ana, map[string]any{"summary": "s"}, []string{"summary"}},
			{"POST", "/kudos", ana, map[string]any{"to_handle": "bob", "message": "m", "values": []string{"care"}}, []string{"to_handle", "message", "values"}},
			{"POST", "/proposals", ana, map[string]any{"community_slug": "ops", "title": "t", "body": "b", "process": "poll", "options": []string{"a", "b"}, "closes_at": closes},
				[]string{"community_slug", "title", "body", "process", "options", "closes_at"}},
			{"POST", fmt.Sprintf("/proposals/%d/votes", proposal), bob, map[string]any{"position": "disagree", "reason": "r"}, []string{"position", "reason"}},
			{"POST", "/asks", bob, map[string]any{"title": "t", "body": "b", "tags": []string{"go"}}, []string{"title", "body", "tags", "community_slug", "urgency"}},
			{"POST", fmt.Sprintf("/asks/%d/answers", ask), bob, map[string]any{"body": "b"}, []string{"body"}},
			{"POST", fmt.Sprintf("/asks/%d/refer", ask), ana, map[string]any{"to_handle": "bob"}, []string{"to_handle"}},
		}
		for _, tc := range cases {
			for _, field := range tc.fields {
				t.Run(tc.method+" "+tc.path+" "+field, func(t *testing.T) {
					body := maps.Clone(tc.base)
					switch field {
					case "skills", "values", "tags", "options":
						body[field] = []string{long}
					case "offers", "needs":
						body[field] = []map[string]any{{"body": long, "tags": []string{"go"}}}
					case "email":
						body[field] = long + "@example.test"
					default:
						body[field] = long
					}
					status, resp := apiDo(t, tc.method, api+tc.path, tc.token, body)
					code, got, msg := limitsError(resp)
					if status != http.StatusUnprocessableEntity || code != "invalid" || !strings.HasPrefix(got, field) || msg == "" {
						t.Errorf("status %d, error %q field %q %q; want 422 invalid naming %s", status, code, got, msg, field)
					}
				})
			}
		}
	})

	t.Run("oversize form fields", func(t *testing.T) {
		long := strings.Repeat("x", 20_001)
		noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		cases := []struct {
			path, token string
			base        url.Values
			fields      []string
		}{
			{"/shares", ana, url.Values{"body": {"b"}, "audience": {"everyone"}}, []string{"body"}},
			{fmt.Sprintf("/shares/%d/edit", share), ana, url.Values{"body": {"b"}}, []string{"body"}},
			{fmt.Sprintf("/shares/%d/marks", share), bob, url.Values{"verdict": {"disputed"}, "reason": {"r"}}, []string{"reason", "source"}},
			{fmt.Sprintf("/shares/%d/correction", share), ana, url.Values{"body": {"b"}}, []string{"body"}},
			{"/communities", ana, url.Values{"name": {"Dev"}, "slug": {"dev"}, "purpose": {"p"}}, []string{"name", "slug", "purpose"}},
			{"/communities/ops/purpose", ana, url.Values{"purpose": {"p"}}, []string{"purpose"}},
			{"/people/bob/kudos", ana, url.Values{"message": {"m"}, "public": {"true"}}, []string{"message", "values"}},
			{"/settings/profile", bob, url.Values{"display_name": {"Bob"}}, []string{"display_name", "title", "location", "bio", "skills", "offers", "needs"}},
			{"/threads", ana, url.Values{"audience": {"community"}, "community": {"ops"}, "kind": {"idea"}, "title": {"t"}, "body": {"b"}}, []string{"title", "body"}},
			{fmt.Sprintf("/threads/%d/replies", thread), bob, url.Values{"body": {"b"}}, []string{"body"}},
			{fmt.Sprintf("/threads/%d/replies/%d/edit", thread, reply), bob, url.Values{"body": {"b"}}, []string{"body"}},
			{fmt.Sprintf("/threads/%d/resolve", thread), ana, url.Values{"summary": {"s"}}, []string{"summary"}},
			{"/proposals", ana, url.Values{"community_slug": {"ops"}, "title": {"t"}, "body": {"b"}, "process": {"consent"}, "closes_at": {closes}}, []string{"title", "body"}},
			{"/asks", bob, url.Values{"title": {"t"}, "body": {"b"}, "tags": {"go"}}, []string{"title", "body", "tags"}},
			{fmt.Sprintf("/asks/%d/answers", ask), bob, url.Values{"body": {"b"}}, []string{"body"}},
		}
		for _, tc := range cases {
			for _, field := range tc.fields {
				t.Run(tc.path+" "+field, func(t *testing.T) {
					form := url.Values{}
					for k, v := range tc.base {
						form[k] = v
					}
					form.Set(field, long)
					req, _ := http.NewRequest(http.MethodPost, in.url+tc.path, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Authorization", "Bearer "+tc.token)
					resp, err := noRedirect.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusUnprocessableEntity {
						t.Errorf("status %d, want 422 (the form again, saying what is wrong): %.200s", resp.StatusCode, b)
					}
				})
			}
		}
	})

	t.Run("query filters PostgreSQL cannot take", func(t *testing.T) {
		for _, path := range []string{
			"/feed?community=%s", "/feed?tag=%s", "/search?q=%s", "/threads?community=%s", "/threads?q=%s", "/threads?status=%s",
			"/proposals?community=%s", "/proposals?status=%s", "/asks?tag=%s", "/asks?scope=%s", "/offers?q=%s",
			"/kudos?to=%s", "/communities/%s", "/communities/ops/shares?before=%s", "/feed?before=%s", "/feed?limit=%s",
		} {
			for _, bad := range []string{"%ff", "%00", "%c3", strings.Repeat("x", 300), "-1", "1e3", "99999999999999999999"} {
				u := api + strings.Replace(path, "%s", bad, 1)
				status, resp := apiDo(t, "GET", u, bob, nil)
				if status >= 500 {
					t.Errorf("GET %s = %d: %.200s", u, status, resp)
				}
			}
		}
		for _, page := range []string{"/?tag=%ff", "/?community=%00", "/?before=x", "/search?q=%ff", "/people?after=%ff", "/people?q=%00",
			"/threads?q=%ff", "/proposals?before=%ff", "/needs?q=%ff", "/communities/ops?before=-1", "/network/map?focus=%ff"} {
			status, resp := apiDo(t, "GET", in.url+page, bob, nil)
			if status >= 500 {
				t.Errorf("GET %s = %d: %.200s", page, status, resp)
			}
		}
		u := api + "/feed?" + url.Values{"tag": {"\xff"}}.Encode()
		status, resp := apiDo(t, "GET", u, bob, nil)
		if _, field, _ := limitsError(resp); status != http.StatusUnprocessableEntity || field != "tag" {
			t.Errorf("GET %s = %d %s, want 422 naming tag", u, status, resp)
		}
	})
}
