package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// thrPoll waits until the JavaScript condition holds in the tab.
func thrPoll(t *testing.T, tab context.Context, what, cond string, limit time.Duration) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Poll[bool](cond,
		chromedp.WithPollingTimeout(limit), chromedp.WithPollingInterval(25*time.Millisecond))); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// thrConnected waits until the tab's thread stream is open.
func thrConnected(t *testing.T, tab context.Context, who string) {
	t.Helper()
	thrPoll(t, tab, who+"'s thread stream connects",
		`(document.querySelector('[data-testid="thread-live"]') || {getAttribute: () => ""}).getAttribute('data-live') === 'connected'`, 10*time.Second)
}

// thrLeave runs actions that submit a form in the tab (the page goes away:
// POST, then a redirect); thrBack waits until the new page is loaded and its
// thread stream connected.
func thrLeave(t *testing.T, tab context.Context, who string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.__before_submit = true`)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tab, actions...); err != nil {
		t.Fatalf("%s submits: %v", who, err)
	}
}

func thrBack(t *testing.T, tab context.Context, who string) {
	t.Helper()
	// While the page changes, evaluating may fail: try again until the new one is there.
	deadline := time.Now().Add(10 * time.Second)
	for {
		done, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.__before_submit !== true && document.readyState === "complete"`))
		if err == nil && done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's page did not come back after submitting: %v", who, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
	thrConnected(t, tab, who)
}

// TestBrowserThreadUpdatesLiveInTwoSessions: ana (on instance A) and ben (on
// instance B) have the same feedback thread open; what one does appears in the
// other's page without a reload: the request on ben's dashboard, who is
// viewing, a reply, a reaction, and the resolution.
func TestBrowserThreadUpdatesLiveInTwoSessions(t *testing.T) {
	envs := clusterEnvs(t, 2, testenv.DatabaseURL(t))
	for _, e := range envs {
		e["REGISTRATION"] = "open"
	}
	a, b := startInstance(t, envs[0]), startInstance(t, envs[1])
	waitReady(t, a.url, b.url)
	ana := signupNode(t, a.url, "ana")
	signupNode(t, b.url, "ben")
	signupNode(t, b.url, "cleo")

	browser := newBrowser(t)
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	anaTab := signInBrowser(t, browser, a.url, "ana@example.test")
	benTab := signInBrowser(t, browser, b.url, "ben@example.test")

	// Ben's dashboard, on B, hears of the request ana makes on A.
	thrPoll(t, benTab, "ben's dashboard stream connects",
		`document.querySelector('[data-testid="live-region"]').getAttribute('data-live') === 'connected'`, 10*time.Second)
	id := thrCreate(t, a.url, ana, map[string]any{"to_handles": []string{"ben", "cleo"}, "kind": "feedback_request",
		"title": "Feedback on the onboarding guide", "body": "Is the first week too packed? #onboarding"})
	thrPoll(t, benTab, "the request appears live on ben's dashboard",
		fmt.Sprintf(`!!document.querySelector('[data-testid="feedback-request"][data-thread-id="%d"]') &&
			[...document.querySelectorAll('[data-testid="notice"]')].some(e => e.textContent.replace(/\s+/g, " ").includes("Ana asks for your feedback on Feedback on the onboarding guide"))`, id),
		10*time.Second)
	screenshot(t, benTab, "thread-ben-dashboard-request.png")

	threadURL := fmt.Sprintf("/threads/%d", id)
	if err := chromedp.Do(anaTab, chromedp.Navigate(a.url+threadURL)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(benTab, chromedp.Navigate(b.url+threadURL)); err != nil {
		t.Fatal(err)
	}
	thrConnected(t, anaTab, "ana")
	thrConnected(t, benTab, "ben")
	// Mark ana's page: a reload would lose the mark.
	if _, err := chromedp.Run(anaTab, chromedp.Evaluate[bool](`window.__stayed = true`)); err != nil {
		t.Fatal(err)
	}

	t.Run("who is viewing: each sees the other, across instances", func(t *testing.T) {
		viewing := func(name string) string {
			return fmt.Sprintf(`[...document.querySelectorAll('[data-testid="viewer-item"]')].some(e => e.textContent.includes(%q))`, name)
		}
		thrPoll(t, anaTab, "ben shown as viewing on ana's page", viewing("Ben"), 10*time.Second)
		thrPoll(t, benTab, "ana shown as viewing on ben's page", viewing("Ana"), 10*time.Second)
	})

	const text = "Day three has four sessions back to back; split them."
	t.Run("ben's reply appears on ana's page without a reload", func(t *testing.T) {
		if err := chromedp.Do(benTab, chromedp.SendKeys(chromedp.CSS(`#reply-body`), text)); err != nil {
			t.Fatal(err)
		}
		posted := time.Now()
		thrLeave(t, benTab, "ben", chromedp.Click(chromedp.CSS(`[data-testid="reply-form"] button[type="submit"]`)))
		thrPoll(t, anaTab, "the reply on ana's page",
			fmt.Sprintf(`[...document.querySelectorAll('#replies [data-testid="reply"]')].some(e => e.textContent.includes(%q))`, "four sessions back to back"),
			10*time.Second)
		t.Logf("reply visible in ana's browser on A %s after ben submitted the form on B (his POST, redirect and the delivery)", time.Since(posted).Round(time.Millisecond))
		stayed, err := chromedp.Run(anaTab, chromedp.Evaluate[bool](`window.__stayed === true`))
		if err != nil || !stayed {
			t.Errorf("ana's page reloaded (%v): the reply must arrive live", err)
		}
		thrPoll(t, anaTab, "ben marked as answered on ana's page",
			`[...document.querySelectorAll('[data-testid="request"][data-answered="true"]')].some(e => e.textContent.includes("Ben"))`, 5*time.Second)
		author, err := chromedp.Run(anaTab, chromedp.Text(chromedp.CSS(`#replies [data-testid="reply-author"]`)))
		if err != nil || author != "Ben" {
			t.Errorf("reply author = %q, %v; want Ben", author, err)
		}
		empty, err := chromedp.Run(anaTab, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('[data-testid="replies-empty"]')).display === 'none'`))
		if err != nil || !empty {
			t.Errorf("the empty state still shows after a reply arrived (%v)", err)
		}
		// Ben's own page came back with the reply (a form post and a redirect).
		thrBack(t, benTab, "ben")
		mine, err := chromedp.Run(benTab, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid="edit-reply"]')`))
		if err != nil || !mine {
			t.Errorf("ben's page offers no edit link for his reply (%v)", err)
		}
	})

	t.Run("a reaction updates the count on the other page", func(t *testing.T) {
		thrLeave(t, benTab, "ben", chromedp.Click(chromedp.CSS(`#replies [data-testid="reply"] button[data-reaction="insightful"]`)))
		thrPoll(t, anaTab, "the reaction count on ana's page",
			`(document.querySelector('#replies [data-testid="reply"] button[data-reaction="insightful"] [data-testid="reaction-count"]') || {textContent: ""}).textContent === "1"`,
			10*time.Second)
		thrBack(t, benTab, "ben")
		pressed, err := chromedp.Run(benTab, chromedp.Evaluate[string](`document.querySelector('#replies [data-testid="reply"] button[data-reaction="insightful"]').getAttribute('aria-pressed')`))
		if err != nil || pressed != "true" {
			t.Errorf("ben's own reaction button aria-pressed = %q, %v; want true", pressed, err)
		}
	})

	t.Run("the resolution shows on ben's page and closes the reply form", func(t *testing.T) {
		if st, body := apiDo(t, "POST", fmt.Sprintf("%s/api/v1/threads/%d/resolve", a.url, id), ana,
			map[string]string{"summary": "Split day three into two mornings"}); st != 200 {
			t.Fatalf("resolve = %d %s", st, body)
		}
		for who, tab := range map[string]context.Context{"ben": benTab, "ana": anaTab} {
			thrPoll(t, tab, "the resolved banner on "+who+"'s page",
				`(document.querySelector('[data-testid="resolved"]') || {textContent: ""}).textContent.includes("Split day three into two mornings") &&
				!document.querySelector('[data-testid="reply-form"]') && !!document.querySelector('[data-testid="closed"]')`,
				10*time.Second)
		}
		edit, err := chromedp.Run(benTab, chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('[data-testid="edit-reply"]')).display === 'none'`))
		if err != nil || !edit {
			t.Errorf("ben's page still offers to edit his reply in a resolved thread (%v)", err)
		}
		stayed, err := chromedp.Run(anaTab, chromedp.Evaluate[bool](`window.__stayed === true`))
		if err != nil || !stayed {
			t.Errorf("ana's page reloaded (%v): everything must have arrived live", err)
		}
	})

	screenshot(t, anaTab, "thread-ana-live.png")
	screenshot(t, benTab, "thread-ben-live.png")

	t.Run("the list shows the thread as read for ana", func(t *testing.T) {
		if err := chromedp.Do(anaTab, chromedp.Navigate(a.url+"/threads")); err != nil {
			t.Fatal(err)
		}
		txt, err := chromedp.Run(anaTab, chromedp.Text(chromedp.CSS(`[data-testid="mine-threads"]`)))
		if err != nil || strings.Contains(txt, "unread") || !strings.Contains(txt, "resolved") {
			t.Errorf("ana's list = %q, %v; want the thread resolved and nothing unread (the reply was seen live)", txt, err)
		}
		screenshot(t, anaTab, "threads-list.png")
	})
}
