package web

import (
	"fmt"
	"math"
	"net"
	"net/http"
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
// Sign-up is not limited per address: each sign-up creates an account (and an
// invite-only organisation needs an invite for it), and the load tool signs up
// thousands of people from one address on purpose.
const (
	SigninAddressLimit  = 30
	SigninAddressWindow = time.Minute
)

// clientAddress is the address a request came from: the peer of its TCP
// connection. X-Forwarded-For and its kind are not trusted: nothing tells this
// server which proxies to believe, and a header anyone can set would let anyone
// choose their own rate-limit bucket and the address the audit log records.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// signinLimiter is the per-address limit of password sign-ins. IPv6 clients
// are counted per /64, the block one client usually holds.
func (s *Server) signinLimiter() func(http.Handler) http.Handler {
	opts := []httprate.Option{
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			return httprate.CanonicalizeIP(clientAddress(r)), nil
		}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			s.tooMany(w, r, SigninAddressWindow, "Too many sign-in attempts from your address. Wait a minute, then try again.")
		}),
		httprate.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err error) {
			// Without a count there is no limit to apply, and without the
			// database no sign-in could work anyway.
			s.d.Logger.Warn("sign-in limit unavailable", "err", err)
			w.Header().Set("Retry-After", RetryAfterUnavailable)
			s.fail(w, r, http.StatusServiceUnavailable, "Sign-in is not available right now. Try again in a moment.")
		}),
	}
	if s.d.Store != nil {
		opts = append(opts, httprate.WithLimitCounter(s.d.Store.NewAttemptCounter("signin-address")))
	}
	return httprate.NewRateLimiter(SigninAddressLimit, SigninAddressWindow, opts...).Handler
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
