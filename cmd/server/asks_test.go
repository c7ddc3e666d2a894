package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// askJSON is an ask as the API returns it.
type askJSON struct {
	ID               int64    `json:"id"`
	Title            string   `json:"title"`
	Tags             []string `json:"tags"`
	Status           string   `json:"status"`
	Urgency          string   `json:"urgency"`
	WidenAfter       string   `json:"widen_after"`
	MaxHops          int      `json:"max_hops"`
	AcceptedAnswerID *int64   `json:"accepted_answer_id"`
	Asker            struct {
		Handle string `json:"handle"`
	} `json:"asker"`
	RoutedTo []askRouteJSON `json:"routed_to"`
	Answers  []struct {
		ID       int64  `json:"id"`
		Body     string `json:"body"`
		Accepted bool   `json:"accepted"`
	} `json:"answers"`
	MyRoute *askRouteJSON `json:"my_route"`
	Offers  []struct {
		Body string `json:"body"`
		Node struct {
			Handle string `json:"handle"`
		} `json:"node"`
	} `json:"offers"`
}

type askRouteJSON struct {
	Handle string   `json:"handle"`
	Reason string   `json:"reason"`
	Path   []string `json:"path"`
	Hops   int      `json:"hops"`
	Via    string   `json:"via"`
	Status string   `json:"status"`
}

// askConnect makes an accepted connection between two signed-up people.
func askConnect(t *testing.T, base, fromToken, toHandle, toToken string) {
	t.Helper()
	c := connCreate(t, base, fromToken, toHandle, "collaborate", http.StatusCreated)
	if st, body := apiDo(t, http.MethodPost, fmt.Sprintf("%s/api/v1/connections/%d/accept", base, c.ID), toToken, nil); st != http.StatusOK {
		t.Fatalf("accept connection: %d %s", st, body)
	}
}

// askProfile sets someone's skills and offers.
func askProfile(t *testing.T, base, token string, skills []string, offers []map[string]any) {
	t.Helper()
	body := map[string]any{"skills": skills}
	if offers != nil {
		body["offers"] = offers
	}
	if st, resp := apiDo(t, http.MethodPatch, base+"/api/v1/me", token, body); st != http.StatusOK {
		t.Fatalf("PATCH /api/v1/me: %d %s", st, resp)
	}
}

// askDo sends a request and decodes a successful answer into v.
func askDo(t *testing.T, method, url, token string, body any, want int, v any) {
	t.Helper()
	st, resp := apiDo(t, method, url, token, body)
	if st != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, url, st, want, resp)
	}
	if v != nil {
		if err := json.Unmarshal(resp, v); err != nil {
			t.Fatalf("decode %s: %v", resp, err)
		}
	}
}

func TestAsksAPI(t *testing.T) {
	in := startInstance(t, map[string]string{"DATABASE_URL": testenv.DatabaseURL(t), "REGISTRATION": "open"})
	base := in.url
	ana, ben, cleo, dan := signupNode(t, base, "ana"), signupNode(t, base, "ben"), signupNode(t, base, "cleo"), signupNode(t, base, "dan")
	askProfile(t, base, ben, []string{"postgres"}, nil)
	askProfile(t, base, dan, nil, []map[string]any{{"body": "code review in Go", "tags": []string{"go", "postgres"}}})
	askConnect(t, base, ana, "ben", ben)
	askConnect(t, base, ben, "cleo", cleo)
	asksURL := base + "/api/v1/asks"

	t.Run("not signed in", func(t *testing.T) {
		for _, tc := range []struct{ method, path string }{
			{http.MethodPost, "/api/v1/asks"}, {http.MethodGet, "/api/v1/asks"}, {http.MethodGet, "/api/v1/asks/1"},
			{http.MethodPost, "/api/v1/asks/1/answers"}, {http.MethodPost, "/api/v1/asks/1/answers/1/accept"},
			{http.MethodPost, "/api/v1/asks/1/refer"}, {http.MethodPost, "/api/v1/asks/1/decline"}, {http.MethodGet, "/api/v1/offers"},
		} {
			st, body := apiDo(t, tc.method, base+tc.path, "", map[string]string{})
			connWantError(t, st, body, http.StatusUnauthorized, "unauthorized", "")
		}
	})

	t.Run("malformed JSON is a 400", func(t *testing.T) {
		for _, b := range []string{`{"title": "x",`, `{"title": "x", "tags": "postgres"}`, `{"title": "x", "tags": ["go"], "boss": true}`, `[]`} {
			st, body := apiDo(t, http.MethodPost, asksURL, ana, b)
			connWantError(t, st, body, http.StatusBadRequest, "bad_request", "")
		}
	})

	t.Run("too large is a 413", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, asksURL, ana, `{"title": "x", "body": "`+strings.Repeat("a", 1<<20)+`"}`)
		connWantError(t, st, body, http.StatusRequestEntityTooLarge, "too_large", "")
	})

	t.Run("invalid input names the field", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			req   map[string]any
			field string
		}{
			{"no title", map[string]any{"title": " ", "tags": []string{"go"}}, "title"},
			{"no tags", map[string]any{"title": "x", "tags": []string{}}, "tags"},
			{"body too long", map[string]any{"title": "x", "tags": []string{"go"}, "body": strings.Repeat("b", 10001)}, "body"},
			{"urgency", map[string]any{"title": "x", "tags": []string{"go"}, "urgency": "yesterday"}, "urgency"},
			{"widen_after text", map[string]any{"title": "x", "tags": []string{"go"}, "widen_after": "soon"}, "widen_after"},
			{"widen_after range", map[string]any{"title": "x", "tags": []string{"go"}, "widen_after": "1ms"}, "widen_after"},
			{"unknown community", map[string]any{"title": "x", "tags": []string{"go"}, "community_slug": "nowhere"}, "community_slug"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st, body := apiDo(t, http.MethodPost, asksURL, ana, tc.req)
				connWantError(t, st, body, http.StatusUnprocessableEntity, "invalid", tc.field)
			})
		}
		var list struct {
			Asks []askJSON `json:"asks"`
		}
		askDo(t, http.MethodGet, asksURL, ana, nil, http.StatusOK, &list)
		if len(list.Asks) != 0 {
			t.Errorf("%d asks after refused posts, want none", len(list.Asks))
		}
	})

	var ask askJSON
	t.Run("posting routes it and says to whom, why and through whom", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, asksURL, ana, map[string]any{
			"title": "How do I tune autovacuum?", "body": "Tables bloat overnight.", "tags": []string{"Postgres"}, "urgency": "high"})
		if st != http.StatusCreated {
			t.Fatalf("POST /api/v1/asks = %d %s", st, body)
		}
		var raw map[string]any
		_ = json.Unmarshal(body, &raw)
		routed, _ := raw["routed_to"].([]any)
		// ben has the skill; dan offers it but is connected to nobody, so no
		// path leads to him (he still sees it on the needs page).
		if len(routed) != 1 {
			t.Fatalf("routed_to = %v, want ben only", raw["routed_to"])
		}
		first, _ := routed[0].(map[string]any)
		for _, key := range []string{"handle", "reason", "path"} {
			if _, ok := first[key]; !ok {
				t.Errorf("routed_to item %v lacks %q", first, key)
			}
		}
		_ = json.Unmarshal(body, &ask)
		if ask.ID == 0 || ask.Status != "open" || ask.Urgency != "high" || ask.WidenAfter != "30m0s" || !slices.Equal(ask.Tags, []string{"postgres"}) {
			t.Errorf("ask = %+v", ask)
		}
		if r := ask.RoutedTo[0]; r.Handle != "ben" || r.Reason != "skills: postgres; direct connection" || !slices.Equal(r.Path, []string{"ana", "ben"}) {
			t.Errorf("first route = %+v, want ben, skills, [ana ben]", r)
		}
	})
	askURL := fmt.Sprintf("%s/%d", asksURL, ask.ID)

	t.Run("reading one ask", func(t *testing.T) {
		var got askJSON
		askDo(t, http.MethodGet, askURL, dan, nil, http.StatusOK, &got)
		if got.Title != ask.Title || got.RoutedTo != nil || got.MyRoute != nil {
			t.Errorf("dan reads %+v, want the ask without its routing", got)
		}
		if len(got.Offers) != 1 || got.Offers[0].Node.Handle != "dan" {
			t.Errorf("offers next to the need = %+v, want dan's", got.Offers)
		}
		askDo(t, http.MethodGet, askURL, ben, nil, http.StatusOK, &got)
		if got.MyRoute == nil || got.MyRoute.Reason == "" {
			t.Errorf("ben's view has no reason: %+v", got.MyRoute)
		}
		for _, path := range []string{"/api/v1/asks/999999", "/api/v1/asks/abc", "/api/v1/asks/0"} {
			st, body := apiDo(t, http.MethodGet, base+path, ana, nil)
			connWantError(t, st, body, http.StatusNotFound, "not_found", "")
		}
	})

	t.Run("listing open asks", func(t *testing.T) {
		var list struct {
			Asks []askJSON `json:"asks"`
		}
		askDo(t, http.MethodGet, asksURL+"?status=open", cleo, nil, http.StatusOK, &list)
		if len(list.Asks) != 1 || list.Asks[0].ID != ask.ID {
			t.Errorf("open asks = %+v", list.Asks)
		}
		st, body := apiDo(t, http.MethodGet, asksURL+"?status=pending", cleo, nil)
		connWantError(t, st, body, http.StatusUnprocessableEntity, "invalid", "status")
		st, body = apiDo(t, http.MethodGet, asksURL+"?limit=lots", cleo, nil)
		connWantError(t, st, body, http.StatusUnprocessableEntity, "invalid", "limit")
	})

	t.Run("passing it on", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, askURL+"/refer", ben, map[string]string{"to_handle": "dan"})
		connWantError(t, st, body, http.StatusUnprocessableEntity, "invalid", "to_handle")
		st, body = apiDo(t, http.MethodPost, askURL+"/refer", ben, map[string]string{"to_handle": "ana"})
		connWantError(t, st, body, http.StatusUnprocessableEntity, "invalid", "to_handle")
		var r askRouteJSON
		askDo(t, http.MethodPost, askURL+"/refer", ben, map[string]string{"to_handle": "cleo"}, http.StatusCreated, &r)
		if r.Handle != "cleo" || r.Via != "ben" || !slices.Equal(r.Path, []string{"ana", "ben", "cleo"}) || r.Reason != "passed on by Ben" {
			t.Errorf("referral = %+v", r)
		}
		st, body = apiDo(t, http.MethodPost, askURL+"/refer", ben, map[string]string{"to_handle": "cleo"})
		connWantError(t, st, body, http.StatusConflict, "conflict", "to_handle")
	})

	var danAnswer, cleoAnswer struct {
		ID int64 `json:"id"`
	}
	t.Run("answering", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, askURL+"/answers", ana, map[string]string{"body": "myself"})
		connWantError(t, st, body, http.StatusForbidden, "forbidden", "")
		st, body = apiDo(t, http.MethodPost, askURL+"/answers", dan, map[string]string{"body": ""})
		connWantError(t, st, body, http.StatusUnprocessableEntity, "invalid", "body")
		askDo(t, http.MethodPost, askURL+"/answers", dan, map[string]string{"body": "Lower autovacuum_vacuum_scale_factor."}, http.StatusCreated, &danAnswer)
		askDo(t, http.MethodPost, askURL+"/answers", cleo, map[string]string{"body": "Partition the big table."}, http.StatusCreated, &cleoAnswer)
	})

	t.Run("reactions", func(t *testing.T) {
		var a struct {
			Reactions map[string]int `json:"reactions"`
		}
		askDo(t, http.MethodPost, fmt.Sprintf("%s/answers/%d/reactions", askURL, danAnswer.ID), ben, map[string]string{"reaction": "helpful"}, http.StatusOK, &a)
		if a.Reactions["helpful"] != 1 {
			t.Errorf("reactions = %v", a.Reactions)
		}
		st, body := apiDo(t, http.MethodPost, fmt.Sprintf("%s/answers/%d/reactions", askURL, danAnswer.ID), ben, map[string]string{"reaction": "meh"})
		connWantError(t, st, body, http.StatusUnprocessableEntity, "invalid", "reaction")
		var back struct {
			Reactions map[string]int `json:"reactions"`
		}
		askDo(t, http.MethodDelete, fmt.Sprintf("%s/answers/%d/reactions/helpful", askURL, danAnswer.ID), ben, nil, http.StatusOK, &back)
		if back.Reactions == nil || back.Reactions["helpful"] != 0 {
			t.Errorf("after taking back: %v", back.Reactions)
		}
	})

	t.Run("accepting", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, fmt.Sprintf("%s/answers/%d/accept", askURL, danAnswer.ID), ben, nil)
		connWantError(t, st, body, http.StatusForbidden, "forbidden", "")
		st, body = apiDo(t, http.MethodPost, askURL+"/answers/999999/accept", ana, nil)
		connWantError(t, st, body, http.StatusNotFound, "not_found", "")
		st, body = apiDo(t, http.MethodPost, askURL+"/answers/x/accept", ana, nil)
		connWantError(t, st, body, http.StatusNotFound, "not_found", "")
		var acc struct {
			Ask    askJSON `json:"ask"`
			Answer struct {
				Accepted bool `json:"accepted"`
			} `json:"answer"`
		}
		askDo(t, http.MethodPost, fmt.Sprintf("%s/answers/%d/accept", askURL, danAnswer.ID), ana, nil, http.StatusOK, &acc)
		if acc.Ask.Status != "answered" || !acc.Answer.Accepted || acc.Ask.AcceptedAnswerID == nil || *acc.Ask.AcceptedAnswerID != danAnswer.ID {
			t.Errorf("accepted = %+v", acc)
		}
		st, body = apiDo(t, http.MethodPost, fmt.Sprintf("%s/answers/%d/accept", askURL, cleoAnswer.ID), ana, nil)
		connWantError(t, st, body, http.StatusConflict, "conflict", "answer_id")
	})

	t.Run("declining and closing", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, askURL+"/decline", dan, nil)
		connWantError(t, st, body, http.StatusForbidden, "forbidden", "")
		st, body = apiDo(t, http.MethodPost, askURL+"/close", ben, nil)
		connWantError(t, st, body, http.StatusForbidden, "forbidden", "")
		var closed askJSON
		askDo(t, http.MethodPost, askURL+"/close", ana, nil, http.StatusOK, &closed)
		if closed.Status != "closed" {
			t.Errorf("status = %s, want closed", closed.Status)
		}
		st, body = apiDo(t, http.MethodPost, askURL+"/answers", ben, map[string]string{"body": "late"})
		connWantError(t, st, body, http.StatusConflict, "conflict", "status")
	})

	t.Run("offers are searchable", func(t *testing.T) {
		var res struct {
			Offers []struct {
				Body string `json:"body"`
			} `json:"offers"`
		}
		askDo(t, http.MethodGet, base+"/api/v1/offers?q=go", ana, nil, http.StatusOK, &res)
		if len(res.Offers) != 1 || res.Offers[0].Body != "code review in Go" {
			t.Errorf("offers for go = %+v", res.Offers)
		}
	})

	t.Run("the needs page", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, base+"/needs", nil)
		req.Header.Set("Authorization", "Bearer "+cleo)
		resp, err := apiClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET /needs = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	})
}

// TestAskRoutedReachesCandidateOnOtherInstance posts an ask on instance A; the
// candidate's event stream is open on instance B and must get ask.routed
// live, with why; someone who is no candidate gets nothing.
func TestAskRoutedReachesCandidateOnOtherInstance(t *testing.T) {
	envs := clusterEnvs(t, 2, testenv.DatabaseURL(t))
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)
	ana := signupNode(t, a.url, "ana")
	ben := signupNode(t, b.url, "ben")
	cleo := signupNode(t, b.url, "cleo")
	askProfile(t, b.url, ben, []string{"kubernetes"}, nil)
	askProfile(t, b.url, cleo, []string{"design"}, nil)
	askConnect(t, a.url, ana, "ben", ben)
	askConnect(t, a.url, ana, "cleo", cleo)

	benLive := openEvents(t, b.url, ben, "")
	cleoLive := openEvents(t, b.url, cleo, "")
	anaLive := openEvents(t, a.url, ana, "")

	sent := time.Now()
	var ask askJSON
	askDo(t, http.MethodPost, a.url+"/api/v1/asks", ana, map[string]any{"title": "Pods restart in a loop", "tags": []string{"kubernetes"}}, http.StatusCreated, &ask)
	if len(ask.RoutedTo) != 1 || ask.RoutedTo[0].Handle != "ben" {
		t.Fatalf("routed_to = %+v, want ben", ask.RoutedTo)
	}

	ev := benLive.next(t, 5*time.Second, "ask.routed")
	took := ev.At.Sub(sent)
	if took > time.Second {
		t.Errorf("ask.routed reached the other instance after %s, want within 1s", took)
	}
	t.Logf("ask.routed delivered across instances %s after the post was sent", took.Round(time.Millisecond))
	obj, _ := ev.Data["object"].(map[string]any)
	route, _ := obj["route"].(map[string]any)
	askObj, _ := obj["ask"].(map[string]any)
	if route["reason"] != "skills: kubernetes; direct connection" || askObj["title"] != "Pods restart in a loop" {
		t.Errorf("event object = %v, want the ask and ben's reason", obj)
	}
	cleoLive.none(t, 500*time.Millisecond, "ask.routed")

	// Ben answers on B; ana hears of it live on A.
	askDo(t, http.MethodPost, fmt.Sprintf("%s/api/v1/asks/%d/answers", b.url, ask.ID), ben, map[string]string{"body": "Check the liveness probe."}, http.StatusCreated, nil)
	ans := anaLive.next(t, 5*time.Second, "ask.answered")
	if obj, _ := ans.Data["object"].(map[string]any); obj["ask_title"] != "Pods restart in a loop" {
		t.Errorf("ask.answered object = %v", obj)
	}
	anaLive.none(t, 300*time.Millisecond, "ask.routed")
}
