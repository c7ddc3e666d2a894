package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

type apiErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// wantAPIError checks a status and the JSON error shape (and field, when given).
func wantAPIError(t *testing.T, status int, body []byte, wantStatus int, wantField string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	var e apiErrorBody
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("body %s is not a JSON error with code and message", body)
	}
	if wantField != "" && e.Error.Field != wantField {
		t.Errorf("error field %q, want %q (%s)", e.Error.Field, wantField, e.Error.Message)
	}
}

func TestNetworkAPI(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "api-test", "REGISTRATION": "open"})
	u := in.url + "/api/v1"
	ana := signupNode(t, in.url, "ana")
	ben := signupNode(t, in.url, "ben")
	cleo := signupNode(t, in.url, "cleo")

	t.Run("communities: create, duplicate, validation, join, leave", func(t *testing.T) {
		st, body := apiDo(t, "POST", u+"/communities", ana, map[string]any{"name": "Platform", "slug": "platform", "purpose": "infra", "open": true})
		if st != http.StatusCreated || !strings.Contains(string(body), `"slug":"platform"`) {
			t.Fatalf("create = %d %s", st, body)
		}
		st, body = apiDo(t, "POST", u+"/communities", ben, map[string]any{"name": "Platform again", "slug": "platform"})
		wantAPIError(t, st, body, http.StatusConflict, "slug")
		st, body = apiDo(t, "POST", u+"/communities", ben, map[string]any{"name": ""})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "name")
		st, body = apiDo(t, "POST", u+"/communities", ben, `{"name": "x", "slug": `)
		wantAPIError(t, st, body, http.StatusBadRequest, "")
		st, body = apiDo(t, "POST", u+"/communities", ben, `{"name": "x", "colour": "red"}`)
		wantAPIError(t, st, body, http.StatusBadRequest, "")
		st, body = apiDo(t, "POST", u+"/communities", ben, `{"name": "`+strings.Repeat("x", 2<<20)+`"}`)
		wantAPIError(t, st, body, http.StatusRequestEntityTooLarge, "")
		if st, body := apiDo(t, "POST", u+"/communities/platform/join", ben, nil); st != http.StatusOK {
			t.Fatalf("join = %d %s", st, body)
		}
		st, body = apiDo(t, "POST", u+"/communities/nowhere/join", ben, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, "POST", u+"/communities", ana, map[string]any{"name": "Hiring", "open": false})
		if st != http.StatusCreated {
			t.Fatalf("create invite-only = %d %s", st, body)
		}
		st, body = apiDo(t, "GET", u+"/communities/hiring", cleo, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, "PATCH", u+"/communities/platform", cleo, map[string]string{"purpose": "mine"})
		wantAPIError(t, st, body, http.StatusForbidden, "")
		if st, body := apiDo(t, "PATCH", u+"/communities/platform", ben, map[string]string{"purpose": "infra and tooling"}); st != http.StatusOK {
			t.Errorf("member edits purpose = %d %s", st, body)
		}
	})

	var shareID string
	t.Run("shares: post, errors, edit, reshare, delete", func(t *testing.T) {
		st, body := apiDo(t, "POST", u+"/communities/platform/shares", ana, map[string]string{"body": "Freeze at 5 #ops @ben"})
		if st != http.StatusCreated {
			t.Fatalf("post = %d %s", st, body)
		}
		var sh struct {
			ID       json.Number `json:"id"`
			Tags     []string    `json:"tags"`
			Mentions []string    `json:"mentions"`
		}
		_ = json.Unmarshal(body, &sh)
		shareID = sh.ID.String()
		if len(sh.Tags) != 1 || len(sh.Mentions) != 1 {
			t.Errorf("share %s: want one tag and one mention", body)
		}
		st, body = apiDo(t, "POST", u+"/communities/platform/shares", cleo, map[string]string{"body": "not a member"})
		wantAPIError(t, st, body, http.StatusForbidden, "")
		st, body = apiDo(t, "POST", u+"/communities/hiring/shares", cleo, map[string]string{"body": "hidden"})
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, "POST", u+"/shares", ana, map[string]string{"body": "  "})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "body")
		st, body = apiDo(t, "POST", u+"/shares", ana, map[string]string{"body": strings.Repeat("a", 10001)})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "body")
		st, body = apiDo(t, "POST", u+"/shares", ana, map[string]string{"body": "x", "audience": "friends"})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "audience")
		st, body = apiDo(t, "POST", u+"/shares", ana, "[1,2]")
		wantAPIError(t, st, body, http.StatusBadRequest, "")
		if st, body := apiDo(t, "POST", u+"/shares", ana, map[string]string{"body": "to all", "audience": "everyone"}); st != http.StatusCreated {
			t.Errorf("everyone-share = %d %s", st, body)
		}
		st, body = apiDo(t, "PATCH", u+"/shares/"+shareID, ben, map[string]string{"body": "edited by ben"})
		wantAPIError(t, st, body, http.StatusForbidden, "")
		if st, body := apiDo(t, "PATCH", u+"/shares/"+shareID, ana, map[string]string{"body": "Freeze at 6 #ops"}); st != http.StatusOK {
			t.Errorf("author edit = %d %s", st, body)
		}
		if st, body := apiDo(t, "GET", u+"/shares/"+shareID+"/history", ben, nil); st != http.StatusOK || !strings.Contains(string(body), "Freeze at 5") {
			t.Errorf("history = %d %s", st, body)
		}
		if st, body := apiDo(t, "POST", u+"/shares/"+shareID+"/reshare", cleo, nil); st != http.StatusCreated || !strings.Contains(string(body), `"origin"`) {
			t.Errorf("reshare = %d %s", st, body)
		}
		st, body = apiDo(t, "GET", u+"/shares/abc", ana, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, "GET", u+"/shares/999999", ana, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, "DELETE", u+"/shares/"+shareID, ben, nil)
		wantAPIError(t, st, body, http.StatusForbidden, "")
	})

	t.Run("feed: pagination and bad parameters", func(t *testing.T) {
		st, body := apiDo(t, "GET", u+"/feed?limit=1", ben, nil)
		var p struct {
			Shares     []map[string]any `json:"shares"`
			NextBefore int64            `json:"next_before"`
		}
		if st != http.StatusOK || json.Unmarshal(body, &p) != nil || len(p.Shares) != 1 || p.NextBefore == 0 {
			t.Fatalf("feed page 1 = %d %s", st, body)
		}
		st, body = apiDo(t, "GET", u+"/feed?limit=1&before="+itoa(p.NextBefore), ben, nil)
		if st != http.StatusOK || !strings.Contains(string(body), `"shares":[{`) {
			t.Errorf("feed page 2 = %d %s", st, body)
		}
		st, body = apiDo(t, "GET", u+"/feed?limit=1000", ben, nil)
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "limit")
		st, body = apiDo(t, "GET", u+"/feed?before=-3", ben, nil)
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "before")
	})

	t.Run("search", func(t *testing.T) {
		st, body := apiDo(t, "GET", u+"/search?q=ops", ben, nil)
		if st != http.StatusOK || !strings.Contains(string(body), "Freeze at 6") {
			t.Errorf("search = %d %s", st, body)
		}
		st, body = apiDo(t, "GET", u+"/search?q=", ben, nil)
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "q")
	})

	t.Run("every endpoint needs a signed-in node", func(t *testing.T) {
		for _, path := range []string{"/communities", "/feed", "/search?q=x", "/shares/1"} {
			st, body := apiDo(t, "GET", u+path, "", nil)
			wantAPIError(t, st, body, http.StatusUnauthorized, "")
		}
		st, body := apiDo(t, "GET", u+"/feed", "nc_not-a-real-token", nil)
		wantAPIError(t, st, body, http.StatusUnauthorized, "")
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestSharePage(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "INSTANCE_NAME": "share-page", "REGISTRATION": "open"})
	ana := signupNode(t, in.url, "ana")
	ben := signupNode(t, in.url, "ben")
	st, body := apiDo(t, "POST", in.url+"/api/v1/shares", ana, map[string]string{"body": "first <b>draft</b>", "audience": "everyone"})
	if st != http.StatusCreated {
		t.Fatalf("share = %d %s", st, body)
	}
	var sh struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(body, &sh)
	id := strconv.FormatInt(sh.ID, 10)
	if st, body := apiDo(t, "PATCH", in.url+"/api/v1/shares/"+id, ana, map[string]string{"body": "second draft"}); st != http.StatusOK {
		t.Fatalf("edit = %d %s", st, body)
	}
	if st, body := apiDo(t, "POST", in.url+"/api/v1/shares/"+id+"/reshare", ben, nil); st != http.StatusCreated {
		t.Fatalf("reshare = %d %s", st, body)
	}
	req, _ := http.NewRequest("GET", in.url+"/shares/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+ben)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	for _, want := range []string{"second draft", "first &lt;b&gt;draft&lt;/b&gt;", `data-testid="share-spread"`, "@ana → @ben"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("share page lacks %q", want)
		}
	}
	if strings.Contains(string(page), "<b>draft</b>") {
		t.Error("share text rendered as HTML")
	}

	st, body = apiDo(t, "GET", in.url+"/api/v1/shares/"+id+"/cascade", ben, nil)
	var c struct {
		Reached int              `json:"reached"`
		Depth   int              `json:"depth"`
		Steps   []map[string]any `json:"steps"`
	}
	if st != http.StatusOK || json.Unmarshal(body, &c) != nil || c.Reached != 1 || c.Depth != 1 || len(c.Steps) != 1 {
		t.Errorf("cascade = %d %s; want one person reached at depth 1", st, body)
	}
}
