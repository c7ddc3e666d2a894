package web

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/httprate"
)

// Sign-in abuse limits. Two limits stand before the password hash (argon2id,
// tens of milliseconds of CPU and 46 MiB each), and a refused attempt never
// reaches it:
//
//   - per client address, SigninAddressLimit password sign-ins (form and API)
//     per SigninAddressWindow, counted in PostgreSQL so that every instance
//     shares one count (community.AttemptCounter behind go-chi/httprate);
//   - per account, a progressive delay after repeated failures
//     (community.Store.SignIn), which slows guessing without letting anyone
//     lock the owner out.
//
// Beyond sign-in (ASVS 2.4.1), limitWrites below bounds sign-ups per address
// and writes per signed-in node.
const (
	SigninAddressLimit  = 30
	SigninAddressWindow = time.Minute
)

type clientAddressKey struct{}

// resolveClientAddress works out once per request which address the client
// has (clientAddress), before anything counts or records it.
func (s *Server) resolveClientAddress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := forwardedClient(peerAddress(r), r.Header.Values("X-Forwarded-For"), s.d.TrustedProxies)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientAddressKey{}, addr)))
	})
}

// clientAddress is the address a request came from, the one the sign-in and
// sign-up limits count and the audit log records: the peer of the TCP
// connection, unless that peer is a trusted proxy (TRUSTED_PROXIES), when it
// is the rightmost X-Forwarded-For entry that is not itself a trusted proxy.
func clientAddress(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddressKey{}).(string); ok {
		return a
	}
	return peerAddress(r)
}

// peerAddress is the host of the TCP peer.
func peerAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// forwardedClient picks the client address from the peer and the
// X-Forwarded-For headers (ASVS 15.3.4). Only entries that trusted proxies
// appended can be believed: each proxy appends the address it was reached
// from, so the list is read right to left, from the peer, while the hop is a
// trusted proxy; the first address that is not one is the client. Everything
// left of it was written by the client and is ignored, so a spoofed header
// chooses nothing. Without trusted proxies the header is never read. An entry
// that is no address (a misconfigured proxy) stops the walk at the last
// trusted hop.
func forwardedClient(peer string, xff []string, trusted []netip.Prefix) string {
	if len(trusted) == 0 || !inPrefixes(peer, trusted) {
		return peer
	}
	var hops []string
	for _, h := range xff {
		for _, e := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(e))
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(hops[i])
		if err != nil {
			return client
		}
		client = a.Unmap().String()
		if !inPrefixes(client, trusted) {
			return client
		}
	}
	// Every hop was a trusted proxy: the leftmost is as far as anyone knows.
	return client
}

func inPrefixes(addr string, ps []netip.Prefix) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// signinLimiter is the per-address limit of password sign-ins. IPv6 clients
// are counted per /64, the block one client usually holds.
func (s *Server) signinLimiter() func(http.Handler) http.Handler {
	// Without a count there is no limit to apply, and without the database
	// no sign-in could work anyway.
	return s.addressLimiter(SigninAddressLimit, SigninAddressWindow, "signin-address", "signin_address",
		"Too many sign-in attempts from your address. Wait a minute, then try again.",
		"sign-in limit unavailable", "Sign-in is not available right now. Try again in a moment.")
}

// addressLimiter allows limit requests per client address (IPv6 per /64) in
// window, counted in PostgreSQL under counter so that every instance shares
// one count. Past it: 429 with Retry-After (recorded in the audit log as
// reason); without a count: 503, logged as unavailable.
func (s *Server) addressLimiter(limit int, window time.Duration, counter, reason, tooMany, unavailable, unavailableMsg string) func(http.Handler) http.Handler {
	opts := []httprate.Option{
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			return httprate.CanonicalizeIP(clientAddress(r)), nil
		}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.recordRateLimited(r, reason)
			s.tooMany(w, r, window, tooMany)
		}),
		httprate.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			s.d.Logger.Warn(unavailable, "err", err)
			w.Header().Set("Retry-After", RetryAfterUnavailable)
			s.fail(w, r, http.StatusServiceUnavailable, unavailableMsg)
		}),
	}
	if s.d.Store != nil {
		opts = append(opts, httprate.WithLimitCounter(s.d.Store.NewAttemptCounter(counter)))
	}
	return httprate.NewRateLimiter(limit, window, opts...).Handler
}

// accountDelayMessage says how long an account's progressive delay still runs.
func accountDelayMessage(wait time.Duration) string {
	return fmt.Sprintf("Too many sign-in attempts for this account. For its protection, the next attempt is possible in %s.", waitText(wait))
}

func waitText(d time.Duration) string {
	secs := retrySeconds(d)
	switch {
	case secs < 2:
		return "a second"
	case secs < 120:
		return strconv.Itoa(secs) + " seconds"
	default:
		return strconv.Itoa((secs+59)/60) + " minutes"
	}
}

// retrySeconds rounds a wait up to whole seconds for Retry-After.
func retrySeconds(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// tooMany answers 429 with Retry-After: the sign-in form again with the
// message for browsers, the API's error shape for API clients.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(wait)))
	if strings.HasPrefix(r.URL.Path, "/api/") {
		var e apiError
		e.Error.Code, e.Error.Message = "too_many_requests", msg
		s.writeJSON(w, http.StatusTooManyRequests, e)
		return
	}
	if r.URL.Path == "/signin" {
		// The limiter runs before the handler has read the form.
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		_ = r.ParseForm()
		s.renderSignin(w, r, http.StatusTooManyRequests, msg)
		return
	}
	s.fail(w, r, http.StatusTooManyRequests, msg)
}

// Anti-automation beyond sign-in (ASVS 2.4.1), both per minute:
//
//   - sign-ups per client address (SIGNUP_LIMIT_PER_MINUTE), counted in
//     PostgreSQL like the sign-in limit so that every instance shares one
//     count: each sign-up costs a password hash and creates an account;
//   - writes per signed-in node (WRITE_LIMIT_PER_MINUTE): every unsafe
//     request (shares, replies, kudos, marks, connection requests, asks,
//     votes, …) and every export, which is a heavy read. This count is in
//     memory, per instance: a write costs a database round trip already, and
//     one more for the count would halve what an instance can take. With n
//     instances behind a balancer a node can make up to n times the limit,
//     which still stops a runaway script or account.
//
// Signing out is never limited: ending a session must always work.
const writeWindow = time.Minute

// limitWrites applies both limits; it runs after authenticate, which knows the
// node. A limit of 0 is off.
func (s *Server) limitWrites(next http.Handler) http.Handler {
	signup, writes := next, next
	if n := s.d.SignupLimitPerMinute; n > 0 {
		signup = s.addressLimiter(n, writeWindow, "signup-address", "signup_address",
			"Too many sign-ups from your address. Wait a minute, then try again.",
			"sign-up limit unavailable", "Sign-up is not available right now. Try again in a moment.")(next)
	}
	if n := s.d.WriteLimitPerMinute; n > 0 {
		writes = httprate.NewRateLimiter(n, writeWindow,
			httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
				node, _ := currentNode(r)
				return strconv.FormatInt(node.ID, 10), nil
			}),
			httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
				s.recordRateLimited(r, "writes")
				s.tooMany(w, r, writeWindow, fmt.Sprintf(
					"You have made more than %d changes in a minute, more than a person does by hand. Wait a minute, then try again.", n))
			}),
		).Handler(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && (r.URL.Path == "/signup" || r.URL.Path == "/api/v1/signup"):
			signup.ServeHTTP(w, r)
		case countedWrite(r):
			writes.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// countedWrite is a request the per-node write limit counts: an unsafe method
// or an export, by a signed-in node, except signing out.
func countedWrite(r *http.Request) bool {
	if _, ok := currentNode(r); !ok {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return strings.Contains(r.URL.Path, "/export")
	}
	return r.URL.Path != "/signout" && r.URL.Path != "/api/v1/logout"
}
