package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// TestBrowserProposalLive follows a consent proposal in two browsers on two
// instances: votes cast on one appear in the other's tallies without a
// reload, and at the closing time both pages turn to the outcome by
// themselves (the block fails it), with the statement form.
func TestBrowserProposalLive(t *testing.T) {
	envs := clusterEnvs(t, 2, testenv.DatabaseURL(t))
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)
	ana := signupNode(t, a.url, "ana")
	ben := signupNode(t, b.url, "ben")
	cleo := signupNode(t, b.url, "cleo")
	if st, body := apiDo(t, http.MethodPost, a.url+"/api/v1/communities", ana, map[string]any{"name": "Platform", "open": true}); st != http.StatusCreated {
		t.Fatalf("create community = %d %s", st, body)
	}
	for _, tok := range []string{ben, cleo} {
		if st, body := apiDo(t, http.MethodPost, b.url+"/api/v1/communities/platform/join", tok, nil); st != http.StatusOK {
			t.Fatalf("join = %d %s", st, body)
		}
	}

	browser := newBrowser(t)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	anaTab := signInBrowser(t, browser, a.url, "ana@example.test")
	benTab := signInBrowser(t, browser, b.url, "ben@example.test")

	closesAt := time.Now().Add(12 * time.Second)
	p := proposalCreate(t, a.url, ana, map[string]any{"community_slug": "platform", "title": "Move the stand-up to 10:00",
		"body": "Mornings are for focus. @ben what do you think?", "process": "consent", "closes_at": closesAt.UTC().Format(time.RFC3339Nano)})
	path := fmt.Sprintf("/proposals/%d", p.ID)
	poll := func(tab, what, js string, limit time.Duration) {
		t.Helper()
		ctx := anaTab
		if tab == "ben" {
			ctx = benTab
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			screenshot(t, ctx, "proposal-failure.png")
			t.Fatalf("%s: %v", what, err)
		}
	}
	const connected = `document.querySelector('[data-testid="proposal-live"]').getAttribute('data-live') === 'connected'`

	if err := chromedp.Do(anaTab, chromedp.Navigate(a.url+path)); err != nil {
		t.Fatal(err)
	}
	poll("ana", "ana's proposal page connects its live stream", connected, 10*time.Second)
	if _, err := chromedp.Run(anaTab, chromedp.Evaluate[bool](`window.__stayed = true`)); err != nil {
		t.Fatal(err)
	}

	t.Run("ben blocks through the form on B; ana's tally on A follows live", func(t *testing.T) {
		if err := chromedp.Do(benTab,
			chromedp.Navigate(b.url+path),
			chromedp.Click(chromedp.CSS(`[data-testid="position-block"]`)),
			chromedp.SendKeys(chromedp.CSS(`#reason`), "Half the team is in another time zone"),
			chromedp.Click(chromedp.CSS(`[data-testid="vote-submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="blocks"]`)),
		); err != nil {
			t.Fatalf("ben votes: %v", err)
		}
		voted := time.Now()
		poll("ana", "ben's block appears on ana's page",
			`document.querySelector('[data-testid="tally-block"] strong').textContent === "1" && document.querySelector('[data-testid="blocks"]').textContent.includes("another time zone")`, 10*time.Second)
		t.Logf("ben's vote on B visible in ana's browser on A %s after his form returned", time.Since(voted).Round(time.Millisecond))
	})
	t.Run("cleo's vote through the API moves the tally and the not-voted list", func(t *testing.T) {
		proposalVote(t, b.url, cleo, p.ID, map[string]any{"position": "agree"})
		poll("ana", "cleo's agreement appears on ana's page",
			`document.querySelector('[data-testid="tally-agree"] strong').textContent === "1" && !document.querySelector('[data-testid="not-voted"]').textContent.includes("Cleo")`, 10*time.Second)
		screenshot(t, anaTab, "proposal-live.png")
	})
	t.Run("at the closing time both pages show the outcome by themselves", func(t *testing.T) {
		poll("ben", "ben's page connects", connected, 10*time.Second)
		limit := time.Until(closesAt) + 5*time.Second
		for _, tab := range []string{"ana", "ben"} {
			poll(tab, tab+"'s page shows the failed outcome",
				`(document.querySelector('[data-testid="proposal-outcome"]') || {}).dataset?.outcome === "failed" && !!document.querySelector('[data-testid="statement-form"]') && !document.querySelector('[data-testid="vote-form"]')`, limit)
		}
		stayed, err := chromedp.Run(anaTab, chromedp.Evaluate[bool](`window.__stayed === true`))
		if err != nil || !stayed {
			t.Errorf("ana's page reloaded (%v): the outcome must arrive live", err)
		}
	})
	t.Run("ana writes the outcome statement; ben sees it live", func(t *testing.T) {
		const statement = "We keep 9:30 and revisit when the Lisbon team grows."
		if err := chromedp.Do(anaTab,
			chromedp.SendKeys(chromedp.CSS(`#statement`), statement),
			chromedp.Click(chromedp.CSS(`[data-testid="statement-form"] button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS(`[data-testid="proposal-statement"]`)),
		); err != nil {
			t.Fatalf("ana writes the statement: %v", err)
		}
		poll("ben", "the statement appears on ben's page",
			`(document.querySelector('[data-testid="proposal-statement"]') || {textContent: ""}).textContent.includes("revisit when the Lisbon team grows")`, 10*time.Second)
		screenshot(t, benTab, "proposal-closed.png")
	})
}
