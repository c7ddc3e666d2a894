package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// TestBrowserAnswerAndAccept: ana asks the network through the needs page on
// instance A; ben, whose skills match and who is live on instance B, sees the
// ask arrive on his dashboard with why it reached him, answers it on its page,
// and ana accepts his answer.
func TestBrowserAnswerAndAccept(t *testing.T) {
	envs := clusterEnvs(t, 2, testenv.DatabaseURL(t))
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)
	ana := signupNode(t, a.url, "ana")
	ben := signupNode(t, b.url, "ben")
	cleo := signupNode(t, a.url, "cleo")
	askProfile(t, b.url, ben, []string{"postgres", "go"}, []map[string]any{{"body": "code review in Go", "tags": []string{"go"}}})
	askProfile(t, a.url, cleo, nil, []map[string]any{{"body": "pairing on slow queries", "tags": []string{"postgres"}}})
	askConnect(t, a.url, ana, "ben", ben)
	// An ask nobody can be offered (cleo knows no one): it waits on the needs page.
	askDo(t, http.MethodPost, a.url+"/api/v1/asks", cleo, map[string]any{"title": "Looking for a Go mentor", "tags": []string{"go"}}, http.StatusCreated, nil)

	browser := newBrowser(t)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	anaTab := signInBrowser(t, browser, a.url, "ana@example.test")
	benTab := signInBrowser(t, browser, b.url, "ben@example.test")
	if _, err := chromedp.Run(benTab, chromedp.Poll[bool](`document.querySelector('[data-testid="live-region"]').getAttribute('data-live') === 'connected'`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("ben's live stream did not connect: %v", err)
	}

	// Ana asks through the form on the needs page.
	if err := chromedp.Do(anaTab,
		chromedp.Navigate(a.url+"/needs"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ask-form"]`)),
		chromedp.SendKeys(chromedp.CSS(`#title`), "Why does this query ignore its index?"),
		chromedp.SendKeys(chromedp.CSS(`#body`), "It filters on lower(email) and takes 4 s."),
		chromedp.SendKeys(chromedp.CSS(`#tags`), "postgres, performance"),
		chromedp.Click(chromedp.CSS(`[data-testid="ask-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="ask-title"]`)),
	); err != nil {
		t.Fatalf("ana asks: %v", err)
	}
	notice, err := chromedp.Run(anaTab, chromedp.Text(chromedp.CSS(`[data-testid="ask-notice"]`)))
	if err != nil || !strings.Contains(notice, "offered to 1 person") {
		t.Errorf("notice after asking = %q, %v; want it offered to 1 person", notice, err)
	}
	routed, err := chromedp.Run(anaTab, chromedp.Text(chromedp.CSS(`[data-testid="routed-to"]`)))
	if err != nil || !strings.Contains(routed, "Ben") || !strings.Contains(routed, "skills: postgres") {
		t.Errorf("offered to = %q, %v; want Ben and why", routed, err)
	}
	offers, err := chromedp.Run(anaTab, chromedp.Text(chromedp.CSS(`[data-testid="matching-offers"]`)))
	if err != nil || !strings.Contains(strings.Join(strings.Fields(offers), " "), "Cleo offers pairing on slow queries") {
		t.Errorf("matching offers = %q, %v; want Cleo's", offers, err)
	}
	screenshot(t, anaTab, "ask-posted.png")

	// Ben's dashboard, open on the other instance, shows it live, with why.
	if _, err := chromedp.Run(benTab, chromedp.Poll[bool](
		`[...document.querySelectorAll('#notices [data-testid="ask-notice"]')].some(e => e.textContent.includes("Why does this query ignore its index?"))`,
		chromedp.WithPollingTimeout(10*time.Second), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		screenshot(t, benTab, "ben-missing-ask.png")
		t.Fatalf("the ask did not appear live on ben's dashboard: %v", err)
	}
	why, err := chromedp.Run(benTab, chromedp.Text(chromedp.CSS(`#notices [data-testid="ask-notice"]`)))
	if err != nil || !strings.Contains(why, "Why you: skills: postgres; direct connection") || !strings.Contains(why, "@ana → @ben") {
		t.Errorf("ben's notice = %q, %v; want the reason and the path", why, err)
	}
	screenshot(t, benTab, "ask-live-on-dashboard.png")

	// Ben follows the notice, reads why, and answers.
	if err := chromedp.Do(benTab,
		chromedp.Click(chromedp.CSS(`#notices [data-testid="ask-notice"] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="answer-form"]`)),
	); err != nil {
		t.Fatalf("ben opens the ask: %v", err)
	}
	reason, err := chromedp.Run(benTab, chromedp.Text(chromedp.CSS(`[data-testid="my-route"] [data-testid="ask-reason"]`)))
	if err != nil || reason != "skills: postgres; direct connection" {
		t.Errorf("why on the ask page = %q, %v", reason, err)
	}
	const answer = "Add an expression index: CREATE INDEX ON users (lower(email));"
	if err := chromedp.Do(benTab,
		chromedp.SendKeys(chromedp.CSS(`#answer-body`), answer),
		chromedp.Click(chromedp.CSS(`[data-testid="answer-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="answer"]`)),
	); err != nil {
		t.Fatalf("ben answers: %v", err)
	}
	got, err := chromedp.Run(benTab, chromedp.Text(chromedp.CSS(`[data-testid="answer"] .share-body`)))
	if err != nil || got != answer {
		t.Errorf("answer shown = %q, %v", got, err)
	}
	screenshot(t, benTab, "ask-answered.png")

	// Ana sees the answer and accepts it.
	if err := chromedp.Do(anaTab,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="answer"] [data-testid="accept"]`)),
		chromedp.Click(chromedp.CSS(`[data-testid="answer"] [data-testid="accept"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="answer"] [data-testid="accepted"]`)),
	); err != nil {
		t.Fatalf("ana accepts: %v", err)
	}
	status, err := chromedp.Run(anaTab, chromedp.Text(chromedp.CSS(`[data-testid="ask-status"]`)))
	if err != nil || status != "answered" {
		t.Errorf("status = %q, %v; want answered", status, err)
	}
	accepts, err := chromedp.Run(anaTab, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="accept"]').length`))
	if err != nil || accepts != 0 {
		t.Errorf("%d accept buttons left after accepting, want 0", accepts)
	}
	screenshot(t, anaTab, "ask-accepted.png")

	// Accepting raised ben's expertise: the API says the ask is answered by him.
	var detail askJSON
	id, _ := chromedp.Run(anaTab, chromedp.Evaluate[string](`document.querySelector('[data-testid="ask"]').dataset.askId`))
	askDo(t, http.MethodGet, fmt.Sprintf("%s/api/v1/asks/%s", b.url, id), ben, nil, http.StatusOK, &detail)
	if detail.Status != "answered" || len(detail.Answers) != 1 || !detail.Answers[0].Accepted {
		t.Errorf("ask after accepting = %+v", detail)
	}

	// The needs page shows everyone what is still unanswered, with the offers
	// that match it.
	if err := chromedp.Do(anaTab, chromedp.Navigate(a.url+"/needs"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="unanswered"]`))); err != nil {
		t.Fatal(err)
	}
	unanswered, err := chromedp.Run(anaTab, chromedp.Text(chromedp.CSS(`[data-testid="unanswered"]`)))
	unanswered = strings.Join(strings.Fields(unanswered), " ")
	if err != nil || !strings.Contains(unanswered, "Looking for a Go mentor") || !strings.Contains(unanswered, "Ben offers code review in Go") ||
		strings.Contains(unanswered, "ignore its index") {
		t.Errorf("unanswered = %q, %v; want cleo's ask with Ben's matching offer, not the answered one", unanswered, err)
	}
	screenshot(t, anaTab, "needs.png")
}
