package web

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/community"
)

// tokenCache remembers recent successful bearer-token lookups, so that while
// PostgreSQL is unreachable a client that was recently authenticated here can
// still be recognised — above all a live event stream resuming from JetStream,
// which needs nothing else from the database. It is consulted ONLY when the
// database lookup fails as unavailable; whenever the database answers, its
// answer wins (and refreshes or drops the entry).
//
// The trade-off, accepted for availability: a token revoked, or a node
// deactivated, during an outage (necessarily on an instance that could reach
// the database) keeps working on instances that cached it until the entry
// expires (TokenCacheTTL) or the database returns. Revocation and
// deactivation drop the entries at once on every instance that hears of it
// over NATS (bus.SubjectAuthEnded, see Server.AuthEnded); an instance cut off
// from NATS as well learns on its next successful lookup.
//
// Entries are keyed by a hash of the token, so the cache holds no usable
// secret, and the cache is bounded (TokenCacheSize).
type tokenCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[[32]byte]tokenEntry
}

type tokenEntry struct {
	node    community.Node
	tokenID int64
	expires time.Time
}

// TokenCacheTTL is how long a successful token lookup may stand in for the
// database; TokenCacheSize bounds the entries kept.
const (
	TokenCacheTTL  = 5 * time.Minute
	TokenCacheSize = 10_000
)

func newTokenCache(ttl time.Duration, max int) *tokenCache {
	return &tokenCache{ttl: ttl, max: max, now: time.Now, m: map[[32]byte]tokenEntry{}}
}

func tokenKeyOf(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// put records a successful lookup.
func (c *tokenCache) put(token string, n community.Node, tokenID int64) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	k := tokenKeyOf(token)
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		c.evict(now)
	}
	c.m[k] = tokenEntry{node: n, tokenID: tokenID, expires: now.Add(c.ttl)}
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

// get returns the cached lookup of token, if recent enough.
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
	delete(c.m, tokenKeyOf(token))
}

// forgetTokenID drops the entry of a revoked token.
func (c *tokenCache) forgetTokenID(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.tokenID == id {
			delete(c.m, k)
		}
	}
}

// forgetNode drops every entry of a node whose sessions and tokens ended
// (signed out everywhere, or deactivated).
func (c *tokenCache) forgetNode(id int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
