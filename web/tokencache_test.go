package web

import (
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

func TestTokenCacheFreshOnlyWhileWatched(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	c := newTokenCache(TokenCacheTTL, 10)
	c.now = func() time.Time { return now }
	ada := community.Node{ID: 1, Handle: "ada"}

	c.put(c.generation(), "t1", ada, 7)
	if _, _, ok := c.fresh("t1"); ok {
		t.Fatal("fresh before notices are heard")
	}
	if n, id, ok := c.get("t1"); !ok || n.ID != 1 || id != 7 {
		t.Fatalf("get = %v %d %v, want the entry for an outage", n, id, ok)
	}

	c.watching(true)
	c.put(c.generation(), "t1", ada, 7)
	if n, id, ok := c.fresh("t1"); !ok || n.Handle != "ada" || id != 7 {
		t.Fatalf("fresh = %v %d %v, want ada's token 7", n, id, ok)
	}

	// A lookup a change overtook is kept for outages only.
	gen := c.generation()
	c.forgetNode(2) // anyone's change: the lookup may have read before it
	c.put(gen, "t2", community.Node{ID: 3}, 8)
	if _, _, ok := c.fresh("t2"); ok {
		t.Error("a lookup overtaken by a change is fresh")
	}
	if _, _, ok := c.get("t2"); !ok {
		t.Error("a lookup overtaken by a change is not kept for outages")
	}

	// A change of ada drops her entries.
	c.forgetNode(1)
	if _, _, ok := c.fresh("t1"); ok {
		t.Error("fresh after ada's change")
	}

	// Fresh for TokenFreshFor, then looked up again.
	c.put(c.generation(), "t1", ada, 7)
	now = now.Add(TokenFreshFor)
	if _, _, ok := c.fresh("t1"); ok {
		t.Error("fresh after TokenFreshFor")
	}
	if _, _, ok := c.get("t1"); !ok {
		t.Error("gone for outages before TokenCacheTTL")
	}

	// Notices lost, then back: nothing cached before is fresh.
	c.put(c.generation(), "t1", ada, 7)
	c.watching(false)
	if _, _, ok := c.fresh("t1"); ok {
		t.Error("fresh while notices are not heard")
	}
	c.watching(true)
	if _, _, ok := c.fresh("t1"); ok {
		t.Error("an entry from before the notices came back is fresh")
	}
	c.forgetNode(ada.ID) // what a revocation heard from another instance does
	if _, _, ok := c.get("t1"); ok {
		t.Error("a revoked token is kept")
	}
}
