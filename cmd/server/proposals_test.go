package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// proposalJSON is the part of a proposal the tests read.
type proposalJSON struct {
	ID               int64            `json:"id"`
	Status           string           `json:"status"`
	Outcome          string           `json:"outcome"`
	OutcomeStatement string           `json:"outcome_statement"`
	ClosedAt         *time.Time       `json:"closed_at"`
	Votes            int              `json:"votes"`
	ResultsHidden    bool             `json:"results_hidden"`
	Tally            *json.RawMessage `json:"tally"`
	Blocks           []struct {
		Node struct {
			Handle string `json:"handle"`
		} `json:"node"`
		Reason string `json:"reason"`
	} `json:"blocks"`
	NotVoted []struct {
		Handle string `json:"handle"`
	} `json:"not_voted"`
	MyVote *struct {
		Position string `json:"position"`
	} `json:"my_vote"`
}

func decodeProposal(t *testing.T, body []byte) proposalJSON {
	t.Helper()
	var p proposalJSON
	if err := json.Unmarshal(body, &p); err != nil || p.ID == 0 {
		t.Fatalf("not a proposal: %s (%v)", body, err)
	}
	return p
}

// proposalAt is a closing time d from now, as the API takes it.
func proposalAt(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339Nano) }

func proposalCreate(t *testing.T, baseURL, token string, req map[string]any) proposalJSON {
	t.Helper()
	st, body := apiDo(t, http.MethodPost, baseURL+"/api/v1/proposals", token, req)
	if st != http.StatusCreated {
		t.Fatalf("create proposal = %d %s", st, body)
	}
	return decodeProposal(t, body)
}

func proposalVote(t *testing.T, baseURL, token string, id int64, vote map[string]any) proposalJSON {
	t.Helper()
	st, body := apiDo(t, http.MethodPost, fmt.Sprintf("%s/api/v1/proposals/%d/votes", baseURL, id), token, vote)
	if st != http.StatusOK {
		t.Fatalf("vote on %d = %d %s", id, st, body)
	}
	return decodeProposal(t, body)
}

func proposalGet(t *testing.T, baseURL, token string, id int64) proposalJSON {
	t.Helper()
	st, body := apiDo(t, http.MethodGet, fmt.Sprintf("%s/api/v1/proposals/%d", baseURL, id), token, nil)
	if st != http.StatusOK {
		t.Fatalf("get proposal %d = %d %s", id, st, body)
	}
	return decodeProposal(t, body)
}

func TestProposalsAPI(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	in := startInstance(t, map[string]string{"DATABASE_URL": dbURL, "INSTANCE_NAME": "proposals-api", "REGISTRATION": "open"})
	u := in.url + "/api/v1"
	ana := signupNode(t, in.url, "ana")
	ben := signupNode(t, in.url, "ben")
	cleo := signupNode(t, in.url, "cleo")
	for _, c := range []map[string]any{{"name": "Platform", "open": true}, {"name": "Hiring", "open": false}} {
		if st, body := apiDo(t, http.MethodPost, u+"/communities", ana, c); st != http.StatusCreated {
			t.Fatalf("create community = %d %s", st, body)
		}
	}
	if st, body := apiDo(t, http.MethodPost, u+"/communities/platform/join", ben, nil); st != http.StatusOK {
		t.Fatalf("join = %d %s", st, body)
	}
	// expire moves a proposal's closing time into the past, as if time had passed.
	expire := func(id int64) {
		t.Helper()
		if _, err := pool.Exec(context.Background(), `UPDATE proposals SET closes_at = now() - interval '1 second' WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
	}
	valid := func() map[string]any {
		return map[string]any{"community_slug": "platform", "title": "Adopt trunk-based development", "body": "Short-lived branches. @ben", "process": "consent", "closes_at": proposalAt(time.Hour)}
	}
	with := func(k string, v any) map[string]any {
		m := valid()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}

	t.Run("create: every error class", func(t *testing.T) {
		cases := []struct {
			name   string
			token  string
			body   any
			status int
			field  string
		}{
			{"not signed in", "", valid(), http.StatusUnauthorized, ""},
			{"malformed JSON", ana, `{"title": `, http.StatusBadRequest, ""},
			{"unknown field", ana, `{"title": "x", "colour": "red"}`, http.StatusBadRequest, ""},
			{"too large", ana, `{"title": "` + strings.Repeat("x", 2<<20) + `"}`, http.StatusRequestEntityTooLarge, ""},
			{"no community", ana, with("community_slug", nil), http.StatusUnprocessableEntity, "community_slug"},
			{"unknown community", ana, with("community_slug", "nowhere"), http.StatusUnprocessableEntity, "community_slug"},
			{"invite-only community of others", cleo, with("community_slug", "hiring"), http.StatusUnprocessableEntity, "community_slug"},
			{"no title", ana, with("title", ""), http.StatusUnprocessableEntity, "title"},
			{"unknown process", ana, with("process", "lottery"), http.StatusUnprocessableEntity, "process"},
			{"consent with options", ana, with("options", []string{"a", "b"}), http.StatusUnprocessableEntity, "options"},
			{"poll with one option", ana, map[string]any{"community_slug": "platform", "title": "t", "process": "poll", "options": []string{"a"}, "closes_at": proposalAt(time.Hour)}, http.StatusUnprocessableEntity, "options"},
			{"score with 21 options", ana, map[string]any{"community_slug": "platform", "title": "t", "process": "score", "options": strings.Split("abcdefghijklmnopqrstu", ""), "closes_at": proposalAt(time.Hour)}, http.StatusUnprocessableEntity, "options"},
			{"multiple on consent", ana, with("multiple", true), http.StatusUnprocessableEntity, "multiple"},
			{"no closing time", ana, with("closes_at", nil), http.StatusUnprocessableEntity, "closes_at"},
			{"closing time not a time", ana, with("closes_at", "tomorrow"), http.StatusUnprocessableEntity, "closes_at"},
			{"closing time past", ana, with("closes_at", proposalAt(-time.Minute)), http.StatusUnprocessableEntity, "closes_at"},
			{"closing time beyond a year", ana, with("closes_at", proposalAt(367*24*time.Hour)), http.StatusUnprocessableEntity, "closes_at"},
			{"quorum of zero", ana, with("quorum", 0), http.StatusUnprocessableEntity, "quorum"},
			{"a non-member of an open community", cleo, valid(), http.StatusForbidden, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				st, body := apiDo(t, http.MethodPost, u+"/proposals", c.token, c.body)
				wantAPIError(t, st, body, c.status, c.field)
			})
		}
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM proposals`).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d proposals after refused requests (%v), want 0", n, err)
		}
	})

	p := proposalCreate(t, in.url, ana, valid())
	pURL := fmt.Sprintf("%s/proposals/%d", u, p.ID)
	t.Run("create: 201 with an open proposal", func(t *testing.T) {
		if p.Status != "open" || p.Outcome != "" || len(p.NotVoted) != 2 || p.MyVote != nil {
			t.Errorf("created %+v, want open, nobody voted", p)
		}
	})

	t.Run("get: found, unknown, malformed, invisible", func(t *testing.T) {
		if got := proposalGet(t, in.url, cleo, p.ID); got.ID != p.ID {
			t.Errorf("a reader of an open community gets %+v", got)
		}
		st, body := apiDo(t, http.MethodGet, fmt.Sprintf("%s/proposals/%d", u, p.ID+1000), ana, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, http.MethodGet, u+"/proposals/abc", ana, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		hidden := proposalCreate(t, in.url, ana, map[string]any{"community_slug": "hiring", "title": "Hire", "process": "consent", "closes_at": proposalAt(time.Hour)})
		st, body = apiDo(t, http.MethodGet, fmt.Sprintf("%s/proposals/%d", u, hidden.ID), cleo, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, http.MethodPost, fmt.Sprintf("%s/proposals/%d/votes", u, hidden.ID), cleo, map[string]any{"position": "agree"})
		wantAPIError(t, st, body, http.StatusNotFound, "")
	})

	t.Run("votes: every error class", func(t *testing.T) {
		cases := []struct {
			name   string
			token  string
			url    string
			body   any
			status int
			field  string
		}{
			{"not signed in", "", pURL + "/votes", map[string]any{"position": "agree"}, http.StatusUnauthorized, ""},
			{"malformed JSON", ben, pURL + "/votes", `{"position": `, http.StatusBadRequest, ""},
			{"unknown field", ben, pURL + "/votes", `{"position": "agree", "weight": 2}`, http.StatusBadRequest, ""},
			{"unknown proposal", ben, fmt.Sprintf("%s/proposals/%d/votes", u, p.ID+1000), map[string]any{"position": "agree"}, http.StatusNotFound, ""},
			{"no position", ben, pURL + "/votes", map[string]any{}, http.StatusUnprocessableEntity, "position"},
			{"block without a reason", ben, pURL + "/votes", map[string]any{"position": "block"}, http.StatusUnprocessableEntity, "reason"},
			{"disagree without a reason", ben, pURL + "/votes", map[string]any{"position": "disagree", "reason": " "}, http.StatusUnprocessableEntity, "reason"},
			{"choices on consent", ben, pURL + "/votes", map[string]any{"position": "agree", "choices": []int{0}}, http.StatusUnprocessableEntity, "choices"},
			{"a non-member", cleo, pURL + "/votes", map[string]any{"position": "agree"}, http.StatusForbidden, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				st, body := apiDo(t, http.MethodPost, c.url, c.token, c.body)
				wantAPIError(t, st, body, c.status, c.field)
			})
		}
	})

	t.Run("votes: cast, change, see who has not voted", func(t *testing.T) {
		got := proposalVote(t, in.url, ben, p.ID, map[string]any{"position": "agree"})
		if got.Votes != 1 || got.MyVote == nil || got.MyVote.Position != "agree" || len(got.NotVoted) != 1 || got.NotVoted[0].Handle != "ana" {
			t.Errorf("after ben's vote %+v", got)
		}
		got = proposalVote(t, in.url, ben, p.ID, map[string]any{"position": "block", "reason": "we have no CI for it yet"})
		if got.Votes != 1 || got.MyVote.Position != "block" || len(got.Blocks) != 1 {
			t.Errorf("after ben changed his vote %+v", got)
		}
	})

	t.Run("outcome: open is a conflict", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, pURL+"/outcome", ana, map[string]any{"statement": "Done."})
		wantAPIError(t, st, body, http.StatusConflict, "status")
	})

	expire(p.ID)
	t.Run("after the closing time it reads closed, failed on a block", func(t *testing.T) {
		got := proposalGet(t, in.url, cleo, p.ID)
		if got.Status != "closed" || got.Outcome != "failed" || len(got.Blocks) != 1 || got.Blocks[0].Reason != "we have no CI for it yet" {
			t.Errorf("closed proposal %+v, want failed with ben's block", got)
		}
	})
	t.Run("votes after close are a conflict", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, pURL+"/votes", ben, map[string]any{"position": "agree"})
		wantAPIError(t, st, body, http.StatusConflict, "status")
	})
	t.Run("outcome: every error class, then written and rewritten", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, pURL+"/outcome", cleo, map[string]any{"statement": "Not mine to say."})
		wantAPIError(t, st, body, http.StatusForbidden, "")
		st, body = apiDo(t, http.MethodPost, pURL+"/outcome", ben, map[string]any{"statement": ""})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "statement")
		st, body = apiDo(t, http.MethodPost, pURL+"/outcome", ben, `{"statement": 5}`)
		wantAPIError(t, st, body, http.StatusBadRequest, "")
		for _, s := range []string{"Not now: CI first.", "Not now: CI first, then again in March."} {
			st, body = apiDo(t, http.MethodPost, pURL+"/outcome", ben, map[string]any{"statement": s})
			if st != http.StatusOK || decodeProposal(t, body).OutcomeStatement != s {
				t.Errorf("statement = %d %s, want 200 with %q", st, body, s)
			}
		}
	})

	t.Run("hidden results: no tally until close, except one's own vote", func(t *testing.T) {
		h := proposalCreate(t, in.url, ana, map[string]any{"community_slug": "platform", "title": "Where to meet", "process": "poll",
			"options": []string{"Berlin", "Lisbon"}, "closes_at": proposalAt(time.Hour), "hidden_results": true, "quorum": 2})
		got := proposalVote(t, in.url, ben, h.ID, map[string]any{"choices": []int{1}})
		if got.Tally != nil || !got.ResultsHidden || got.MyVote == nil {
			t.Errorf("voter sees %+v, want no tally but his vote", got)
		}
		st, body := apiDo(t, http.MethodPost, fmt.Sprintf("%s/proposals/%d/votes", u, h.ID), ana, map[string]any{"choices": []int{0, 1}})
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "choices")
		expire(h.ID)
		got = proposalGet(t, in.url, ana, h.ID)
		if got.Tally == nil || got.Outcome != "failed" {
			t.Errorf("after close %+v, want the tally, failed for want of the quorum of 2", got)
		}
	})

	t.Run("list: by community, mine, errors", func(t *testing.T) {
		var resp struct {
			Proposals []proposalJSON `json:"proposals"`
		}
		st, body := apiDo(t, http.MethodGet, u+"/proposals?community=platform", cleo, nil)
		if err := json.Unmarshal(body, &resp); st != http.StatusOK || err != nil || len(resp.Proposals) != 2 {
			t.Errorf("list = %d %s, want the two platform proposals", st, body)
		}
		st, body = apiDo(t, http.MethodGet, u+"/proposals", ana, nil)
		if err := json.Unmarshal(body, &resp); st != http.StatusOK || err != nil || len(resp.Proposals) != 3 {
			t.Errorf("ana's list = %d %s, want all three", st, body)
		}
		st, body = apiDo(t, http.MethodGet, u+"/proposals?community=hiring", cleo, nil)
		wantAPIError(t, st, body, http.StatusNotFound, "")
		st, body = apiDo(t, http.MethodGet, u+"/proposals?status=pending", ana, nil)
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "status")
		st, body = apiDo(t, http.MethodGet, u+"/proposals?limit=500", ana, nil)
		wantAPIError(t, st, body, http.StatusUnprocessableEntity, "limit")
		st, body = apiDo(t, http.MethodGet, u+"/proposals", "", nil)
		wantAPIError(t, st, body, http.StatusUnauthorized, "")
	})

	t.Run("pages: the proposal, the decisions of a community, the form", func(t *testing.T) {
		for _, c := range []struct{ path, want string }{
			{fmt.Sprintf("/proposals/%d", p.ID), `data-outcome="failed"`},
			{"/communities/platform", `data-testid="decisions"`},
			{"/proposals", "Adopt trunk-based development"},
			{"/proposals/new?community=platform", `data-testid="proposal-form"`},
		} {
			req, _ := http.NewRequest(http.MethodGet, in.url+c.path, nil)
			req.Header.Set("Authorization", "Bearer "+ana)
			resp, err := apiClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), c.want) {
				t.Errorf("GET %s = %d, want 200 containing %s", c.path, resp.StatusCode, c.want)
			}
		}
	})

	t.Run("pages: forms work without JavaScript", func(t *testing.T) {
		post := func(path string, form url.Values) (int, string, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, in.url+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+ben)
			client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header.Get("Location"), string(b)
		}
		st, loc, _ := post("/proposals", url.Values{"community_slug": {"platform"}, "title": {"Score the venues"}, "process": {"score"},
			"options": {"Hall\r\nGarden\r\n\r\n"}, "closes_at": {time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04")}})
		m := regexp.MustCompile(`^/proposals/(\d+)$`).FindStringSubmatch(loc)
		if st != http.StatusSeeOther || m == nil {
			t.Fatalf("create form = %d to %q, want 303 to the proposal", st, loc)
		}
		st, _, page := post("/proposals", url.Values{"community_slug": {"platform"}, "title": {""}, "process": {"consent"}, "closes_at": {"2030-01-01T10:00"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="title-error"`) {
			t.Errorf("invalid create form = %d, want 422 with the title's error", st)
		}
		st, loc, _ = post(m[0]+"/vote", url.Values{"score-0": {"7"}, "score-1": {"3"}})
		if st != http.StatusSeeOther || loc != m[0] {
			t.Errorf("vote form = %d to %q, want 303 back", st, loc)
		}
		st, _, page = post(m[0]+"/vote", url.Values{"score-0": {"70"}, "score-1": {"3"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(page, `data-testid="scores-error"`) {
			t.Errorf("invalid vote form = %d, want 422 with the scores' error", st)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		expire(id)
		st, _, page = post(m[0]+"/vote", url.Values{"score-0": {"1"}, "score-1": {"3"}})
		if st != http.StatusConflict || !strings.Contains(page, `data-testid="status-error"`) || !strings.Contains(page, `data-testid="statement-form"`) {
			t.Errorf("vote form after close = %d, want 409 with the error and the statement form", st)
		}
		st, loc, _ = post(m[0]+"/outcome", url.Values{"statement": {"The hall it is."}})
		if st != http.StatusSeeOther || loc != m[0] {
			t.Errorf("statement form = %d to %q, want 303 back", st, loc)
		}
	})
}

// proposalClosedCount counts the proposal.closed events in the outbox, per proposal.
func proposalClosedCount(t *testing.T, pool *pgxpool.Pool, id int64) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = 'proposal.closed' AND (payload->>'proposal_id')::bigint = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestProposalClosesExactlyOnceAcrossInstances races two instances' closers
// (and readers on both) for proposals closing at the same moment: each closes
// once, with one outcome, and a member's event stream hears of it once.
func TestProposalClosesExactlyOnceAcrossInstances(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	envs := clusterEnvs(t, 2, dbURL)
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)

	ana := signupNode(t, a.url, "ana")
	ben := signupNode(t, b.url, "ben")
	if st, body := apiDo(t, http.MethodPost, a.url+"/api/v1/communities", ana, map[string]any{"name": "Platform", "open": true}); st != http.StatusCreated {
		t.Fatalf("create community = %d %s", st, body)
	}
	if st, body := apiDo(t, http.MethodPost, b.url+"/api/v1/communities/platform/join", ben, nil); st != http.StatusOK {
		t.Fatalf("join = %d %s", st, body)
	}
	anaLive := openEvents(t, a.url, ana, "")
	benLive := openEvents(t, b.url, ben, "")

	// One proposal to follow closely, and a batch closing at the same instant
	// to give the two closers (and the readers) a real race.
	const batch = 12
	closesAt := time.Now().Add(2500 * time.Millisecond).UTC()
	var ids []int64
	for i := range batch {
		p := proposalCreate(t, a.url, ana, map[string]any{"community_slug": "platform", "title": fmt.Sprintf("Proposal %d", i),
			"process": "poll", "options": []string{"yes", "no"}, "closes_at": closesAt.Format(time.RFC3339Nano)})
		ids = append(ids, p.ID)
	}
	main := ids[0]
	t.Run("votes on both instances are heard live by members", func(t *testing.T) {
		proposalVote(t, b.url, ben, main, map[string]any{"choices": []int{0}})
		ev := anaLive.next(t, 5*time.Second, "proposal.vote")
		obj, _ := ev.Data["object"].(map[string]any)
		if obj["voter"] != "ben" || obj["tally"] == nil {
			t.Errorf("vote event %v, want ben's vote with the tally", ev.Data)
		}
		proposalVote(t, a.url, ana, main, map[string]any{"choices": []int{0}})
		benLive.next(t, 5*time.Second, "proposal.vote")
	})

	// Readers on both instances poll across the closing time: a read after it
	// closes on read, through the same path as the closers.
	var wg sync.WaitGroup
	stopReading := make(chan struct{})
	for _, in := range []*instance{a, b} {
		wg.Go(func() {
			for {
				select {
				case <-stopReading:
					return
				default:
				}
				for _, id := range ids {
					req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/proposals/%d", in.url, id), nil)
					req.Header.Set("Authorization", "Bearer "+ana)
					if resp, err := apiClient.Do(req); err == nil {
						resp.Body.Close()
					}
				}
			}
		})
	}

	closedSeen := func(c *sseClient, limit time.Duration) map[int64]int {
		t.Helper()
		seen := map[int64]int{}
		deadline := time.After(limit)
		for {
			select {
			case ev, ok := <-c.events:
				if !ok {
					t.Fatal("event stream ended")
				}
				if ev.Type == "proposal.closed" {
					obj, _ := ev.Data["object"].(map[string]any)
					id, _ := obj["proposal_id"].(float64)
					seen[int64(id)]++
				}
			case <-deadline:
				return seen
			}
		}
	}
	benSeen := closedSeen(benLive, time.Until(closesAt)+4*time.Second)
	close(stopReading)
	wg.Wait()
	anaSeen := closedSeen(anaLive, 500*time.Millisecond)

	t.Run("each proposal closed once: one event in the outbox, one on each member's stream", func(t *testing.T) {
		for _, id := range ids {
			if n := proposalClosedCount(t, pool, id); n != 1 {
				t.Errorf("proposal %d: %d proposal.closed events in the outbox, want 1", id, n)
			}
			if benSeen[id] != 1 {
				t.Errorf("proposal %d: ben's stream on B got %d proposal.closed events, want 1", id, benSeen[id])
			}
			if anaSeen[id] != 1 {
				t.Errorf("proposal %d: ana's stream on A got %d proposal.closed events, want 1", id, anaSeen[id])
			}
		}
	})
	t.Run("the outcome is set once and reads the same on both instances", func(t *testing.T) {
		fromA, fromB := proposalGet(t, a.url, ana, main), proposalGet(t, b.url, ben, main)
		if fromA.Status != "closed" || fromA.Outcome != "passed" || fromA.ClosedAt == nil {
			t.Fatalf("on A: %+v, want closed and passed", fromA)
		}
		if fromB.Outcome != fromA.Outcome || !fromB.ClosedAt.Equal(*fromA.ClosedAt) {
			t.Errorf("on B: outcome %s closed at %v; on A: %s at %v", fromB.Outcome, fromB.ClosedAt, fromA.Outcome, fromA.ClosedAt)
		}
		if late := fromA.ClosedAt.Sub(closesAt); late < 0 || late > 1500*time.Millisecond {
			t.Errorf("closed %s after the closing time, want within 1.5s", late)
		} else {
			t.Logf("closed %s after the closing time", late.Round(time.Millisecond))
		}
		var outcomes int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM proposals WHERE status = 'closed' AND outcome IS NOT NULL`).Scan(&outcomes); err != nil || outcomes != batch {
			t.Errorf("%d closed proposals with an outcome (%v), want %d", outcomes, err, batch)
		}
		t.Logf("closers' reports: %s closed %d, %s closed %d (the rest were closed on read)",
			a.name, closedInLogs(a), b.name, closedInLogs(b))
	})
	t.Run("a vote after close is refused on either instance", func(t *testing.T) {
		st, body := apiDo(t, http.MethodPost, fmt.Sprintf("%s/api/v1/proposals/%d/votes", b.url, main), ben, map[string]any{"choices": []int{1}})
		wantAPIError(t, st, body, http.StatusConflict, "status")
	})
}

var closedLine = regexp.MustCompile(`proposals closed.*count=(\d+)`)

// closedInLogs sums what an instance's closer reported closing.
func closedInLogs(in *instance) int {
	n := 0
	for _, m := range closedLine.FindAllStringSubmatch(in.logs.String(), -1) {
		var k int
		fmt.Sscan(m[1], &k)
		n += k
	}
	return n
}
