// Package web is the HTTP face of an instance: the chi router, middleware, pages
// rendered with templ, JSON endpoints and server-sent event streams.
//
// It knows nothing of SQL or NATS: handlers reach the domain through the small
// interfaces in Deps, declared here by the consumer. Every instance serves every
// route; the only state kept here is the set of live streams, which Drain ends.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/nodecommunity/nodecommunity/internal/asks"
	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
	"github.com/nodecommunity/nodecommunity/internal/graph"
	"github.com/nodecommunity/nodecommunity/web/static"
)

// Members lists the live instances of the cluster and who is online on them.
type Members interface {
	Members() []bus.Member
	Online() map[int64]bool
}

// Check reports whether one dependency is usable now.
type Check func(ctx context.Context) error

// Deps are what the handlers need from the rest of the program.
type Deps struct {
	Logger   *slog.Logger
	Instance string
	Members  Members
	Store    *community.Store    // the network in PostgreSQL
	Asks     *asks.Store         // needs routed through the network
	Feedback *feedback.Store     // threads, kudos, marks on shares, proposals
	Sessions *scs.SessionManager // browser sessions (PostgreSQL-backed)
	// Registration is REGISTRATION: "open" lets anyone sign up; anything else
	// ("invite") needs an invite a steward created.
	Registration string
	// PasswordBannedWords is PASSWORD_BANNED_WORDS: the organisation's words
	// no new password may contain (community.ValidateNewPassword).
	PasswordBannedWords []string
	// Checks are run by /readyz, by name ("postgres", "nats").
	Checks map[string]Check
	// Events is the ordered event stream (nil: no live events).
	Events EventLog
	// LiveInterval is how often live pages are refreshed (default 2s).
	LiveInterval time.Duration
	// Graph holds the computed network analytics and the audit log.
	Graph *graph.Store
	// MinGroupSize is MIN_GROUP_SIZE: no aggregate describes fewer people.
	MinGroupSize int
	Viewing      Viewing // who has which thread open, cluster-wide (nil: nobody shown)
	SSO          *SSO    // single sign-on with OpenID Connect, web/oidc.go (nil: off)
	// Audit is the audit log (web/audit.go; nil: nothing is recorded and
	// /audit answers 503).
	Audit *audit.Store
	// AuthNotices tells every instance that a node's sessions or tokens ended
	// (web/auth.go; nil: only this instance acts at once, the others on their
	// next database lookup).
	AuthNotices AuthNotifier
	// Shares writes new shares: a community.ShareBatcher commits concurrent
	// ones together (nil: Store writes each alone). web/network.go.
	Shares ShareCreator
	// TrustedProxies are TRUSTED_PROXIES: peers whose X-Forwarded-For names
	// the client (web/ratelimit.go clientAddress; empty: trust none).
	TrustedProxies []netip.Prefix
	// WriteLimitPerMinute and SignupLimitPerMinute are the anti-automation
	// limits of web/ratelimit.go (0: off).
	WriteLimitPerMinute  int
	SignupLimitPerMinute int
}

// Server holds the router and the live streams of one instance.
type Server struct {
	d        Deps
	handler  http.Handler
	router   chi.Routes  // for Routes (web/routes.go): the table the authorization tests walk
	tokens   *tokenCache // bearer tokens recently resolved (web/tokencache.go)
	streams  *streams
	hub      *hub
	draining atomic.Bool
	refusals *refusalCap // audit rows of refusals per address (web/audit.go)
}

// RequestTimeout bounds ordinary (non-streaming) requests.
const RequestTimeout = 30 * time.Second

// New builds the router.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.LiveInterval == 0 {
		d.LiveInterval = 2 * time.Second
	}
	s := &Server{d: d, streams: newStreams(), hub: newHub(), refusals: newRefusalCap(), tokens: newTokenCache(TokenCacheTTL, TokenCacheSize)}
	if d.Store != nil {
		// Its own writes reach this instance's token cache before the answer
		// does; other instances hear PostgreSQL's notice (CredentialsChanged).
		d.Store.OnCredentialsChanged(s.CredentialsChanged)
	}

	r := chi.NewRouter()
	r.Use(middleware.RequestID)
	r.Use(s.resolveClientAddress) // web/ratelimit.go: TRUSTED_PROXIES
	r.Use(middleware.GetHead)
	r.Use(s.logRequests)
	r.Use(observeRequests)
	r.Use(s.recoverPanics)
	r.Use(securityHeaders)
	// Cross-origin unsafe requests are refused before any handler or
	// authentication runs, and after securityHeaders, so that the 403 carries
	// the CSP and the other headers like every answer (web/audit.go).
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(s.crossOriginRefused))
	r.Use(csrf.Handler)
	r.Use(s.checkInput) // web/limits.go: bodies bounded (413), text without NUL or bad UTF-8 (422)
	r.Use(s.authenticate)
	r.Use(s.limitWrites) // web/ratelimit.go: sign-ups per address, writes per node
	r.Use(s.offerSSO)
	r.NotFound(s.notFound)
	r.MethodNotAllowed(s.methodNotAllowed)

	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Get(metricsPath, serveMetrics().ServeHTTP) // unauthenticated, no personal data: see web/metrics.go
	r.Handle("/static/*", static.Handler())

	// Streams live as long as the client stays; everything else gets a deadline.
	r.Get("/cluster/live", s.clusterLive)
	r.With(s.requireNode).Get("/api/v1/events", s.apiEvents)
	s.mountLive(r)
	r.Group(func(r chi.Router) {
		r.Use(middleware.Timeout(RequestTimeout))
		r.Get("/", s.home)
		r.Get("/cluster", s.cluster)
		r.Get("/api/v1/cluster", s.apiCluster)
		s.mountAuth(r)
		s.mountSessions(r)
		s.mountReset(r)
		s.mountImport(r)
		s.mountConnections(r)
		s.mountNetwork(r)
		s.mountGraph(r)
		s.mountThreads(r)
		s.mountKudos(r)
		s.mountMarks(r)
		s.mountProposals(r)
		s.mountAsks(r)
		s.mountOIDC(r)
		s.mountAudit(r)
		s.mountPrivacy(r)
	})

	s.handler = r
	s.router = r
	return s
}

// ServeHTTP makes the Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Clients is the number of live streaming clients on this instance.
func (s *Server) Clients() int { return s.streams.count() }

// Drain starts a graceful stop: readiness fails from now on, and every live stream
// is told to reconnect (to another instance) and closed. New streams are refused.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.streams.closeAll()
	s.flushRefusals()
}
