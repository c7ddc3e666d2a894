package web

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// tokenCache remembers recent successful bearer-token lookups, for two uses.
//
// Fresh entries stand in for the database: a token confirmed in the last
// TokenFreshFor is taken from here without a query (a client posting a share
// a second paid a database round trip per request for its own name). This
// holds only while the instance hears every change of credentials committed
// anywhere (community.Store.WatchCredentials: PostgreSQL's notices, sent after
// commit by triggers, whatever made the change): each drops the node's
// entries. So a revoked token, a deactivated node or a changed capability
// holds here at most as long as the notice takes to arrive (a few
// milliseconds on one network), the cost of not asking every time; changes
// made through this instance's Store drop the entries before the request that
// made them is answered (Store.OnCredentialsChanged), so that whoever acts on
// the answer is never told the old state here. While the
// notices are not heard (not yet started, connection lost), nothing is fresh
// and every request asks the database, as before; when they are back,
// everything cached before counts as stale. A lookup that a notice overtook
// (generation) is not trusted either.
//
// Older entries are consulted ONLY when the database lookup fails as
// unavailable, so that a client recently authenticated here can still be
// recognised — above all a live event stream resuming from JetStream, which
// needs nothing else from the database. Whenever the database answers, its
// answer wins (and refreshes or drops the entry). The trade-off, accepted for
// availability: a token revoked, or a node deactivated, during an outage
// (necessarily on an instance that could reach the database) keeps working on
// instances that cached it until the entry expires (TokenCacheTTL) or the
// database returns. Revocation and deactivation drop the entries at once on
// every instance that hears of it over NATS (bus.SubjectAuthEnded, see
// Server.AuthEnded); an instance cut off from NATS as well learns on its next
// successful lookup.
//
// Entries are keyed by a hash of the token, so the cache holds no usable
// secret, and the cache is bounded (TokenCacheSize).
type tokenCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[[32]byte]tokenEntry
	// watched: credential notices are heard. gen counts what may have made a
	// lookup in flight stale (a notice, a forget, notices lost or back).
	watched bool
	gen     uint64
}

type tokenEntry struct {
	node    community.Node
	tokenID int64
	fresh   time.Time // may stand in for the database until then (zero: never)
	expires time.Time // may stand in for an unreachable database until then
}

// TokenFreshFor is how long a successful token lookup stands in for the
// database while credential notices are heard (then the token is looked up,
// and its last use recorded, again); TokenCacheTTL is how long it may stand in
// for an unreachable database; TokenCacheSize bounds the entries kept.
const (
	TokenFreshFor  = time.Minute
	TokenCacheTTL  = 5 * time.Minute
	TokenCacheSize = 10_000
)

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, now: time.Now, m: map[[32]byte]tokenEntry{}}
}

func tokenKeyOf(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// generation is to be read before a lookup and given to put after it.
func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// put records a successful lookup that started at generation gen: fresh
// only if notices are heard and nothing happened since that could make the
// answer stale.
func (c *tokenCache) put(gen uint64, token string, n community.Node, tokenID int64) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	k := tokenKeyOf(token)
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		c.evict(now)
	}
	e := tokenEntry{node: n, tokenID: tokenID, expires: now.Add(c.ttl)}
	if c.watched && gen == c.gen {
		e.fresh = now.Add(c.freshFor())
	}
	c.m[k] = e
}

func (c *tokenCache) freshFor() time.Duration { return min(TokenFreshFor, c.ttl) }

// fresh returns the lookup of token if it may stand in for the database now.
func (c *tokenCache) fresh(token string) (community.Node, int64, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[tokenKeyOf(token)]
	if !ok || !c.watched || !now.Before(e.fresh) {
		return community.Node{}, 0, false
	}
	return e.node, e.tokenID, true
}

// watching records whether credential notices are heard. Either way what is
// cached is no longer fresh: notices may have been missed before.
func (c *tokenCache) watching(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watched = on
	c.gen++
	for k, e := range c.m {
		e.fresh = time.Time{}
		c.m[k] = e
	}
}

// evict drops expired entries, and if that frees nothing, the entry closest to
// expiry (the least recently confirmed). Called with mu held.
func (c *tokenCache) evict(now time.Time) {
	var oldest [32]byte
	var oldestAt time.Time
	for k, e := range c.m {
		if !now.Before(e.expires) {
			delete(c.m, k)
			continue
		}
		if oldestAt.IsZero() || e.expires.Before(oldestAt) {
			oldest, oldestAt = k, e.expires
		}
	}
	if len(c.m) >= c.max && !oldestAt.IsZero() {
		delete(c.m, oldest)
	}
}

// get returns the cached lookup of token, if recent enough to stand in for an
// unreachable database.
func (c *tokenCache) get(token string) (community.Node, int64, bool) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	k := tokenKeyOf(token)
	e, ok := c.m[k]
	if !ok {
		return community.Node{}, 0, false
	}
	if !now.Before(e.expires) {
		delete(c.m, k)
		return community.Node{}, 0, false
	}
	return e.node, e.tokenID, true
}

// forget drops the entry of token (the database said it no longer works).
func (c *tokenCache) forget(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, tokenKeyOf(token))
}

// forgetNode drops every entry of a node whose sessions and tokens ended
// (signed out everywhere, or deactivated), or whose credentials changed.
func (c *tokenCache) forgetNode(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if e.node.ID == id {
			delete(c.m, k)
		}
	}
}

func (c *tokenCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
