// Package config reads the server's settings from environment variables.
//
// Every setting has a name listed in Names (the contract used by the README, the
// compose file and the acceptance checks), a default where one makes sense, and a
// validation that turns a bad value into one line naming the variable.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Config is the validated configuration of one server instance.
type Config struct {
	HTTPAddr        string        // HTTP_ADDR: where the web server listens
	HTTPAdvertise   string        // HTTP_ADVERTISE: host:port peers list for this instance; empty: the bound address
	DatabaseURL     string        // DATABASE_URL: empty means "start a private PostgreSQL under DataDir"
	NATSURLs        []string      // NATS_URL: external NATS servers; empty means "embed a NATS node"
	NATSListen      string        // NATS_LISTEN: client address of the embedded node; empty: in-process only
	ClusterName     string        // NATS_CLUSTER_NAME: all peers of one cluster share it
	ClusterListen   string        // NATS_CLUSTER_LISTEN: route address of the embedded node
	ClusterPeers    []string      // NATS_CLUSTER_PEERS: route URLs of the other embedded nodes
	InstanceName    string        // INSTANCE_NAME: unique name of this instance in the cluster
	DataDir         string        // DATA_DIR: JetStream store and the private PostgreSQL live here
	LogLevel        slog.Level    // LOG_LEVEL
	LogFormat       string        // LOG_FORMAT: text or json
	SeedDemo        bool          // SEED_DEMO: seed a demo organisation into an empty database
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT: how long a graceful stop may take
	Heartbeat       time.Duration // PEER_HEARTBEAT: how often this instance announces itself
	PeerTTL         time.Duration // PEER_TTL: a peer not heard from for this long is dropped
	Registration    string        // REGISTRATION: RegistrationOpen or RegistrationInvite
	MinGroupSize    int           // MIN_GROUP_SIZE: no aggregate describes fewer people (at least 5)
	SyncAlways      bool          // NATS_SYNC_ALWAYS: the embedded JetStream fsyncs every write
	SessionIdle     time.Duration // SESSION_IDLE_TIMEOUT: a browser session unused this long ends
	SessionLifetime time.Duration // SESSION_LIFETIME: a browser session ends this long after sign-in
	OIDC            OIDC          // OIDC_*: single sign-on with an OpenID Connect provider
	// INTERACTION_RETENTION: who-interacted-with-whom metadata older than this
	// is purged (at least MinInteractionRetention).
	InteractionRetention time.Duration
	// TRUSTED_PROXIES: proxies whose X-Forwarded-For is believed (empty: none).
	TrustedProxies []netip.Prefix
	// WRITE_LIMIT_PER_MINUTE: unsafe requests a signed-in node may make per
	// minute on one instance (0: no limit).
	WriteLimitPerMinute int
	// SIGNUP_LIMIT_PER_MINUTE: sign-ups per client address per minute (0: no limit).
	SignupLimitPerMinute int
	// PASSWORD_BANNED_WORDS: words of this organisation (its name, domain,
	// products) that no new password may contain, besides the product's own.
	PasswordBannedWords []string
}

// OIDC configures single sign-on. An empty Issuer turns it off.
type OIDC struct {
	Issuer       string   // OIDC_ISSUER: the provider's issuer URL
	ClientID     string   // OIDC_CLIENT_ID
	ClientSecret string   // OIDC_CLIENT_SECRET: empty for a public client (PKCE only)
	RedirectURL  string   // OIDC_REDIRECT_URL: this site's /auth/oidc/callback as the provider knows it
	EmailDomains []string // OIDC_EMAIL_DOMAIN: only verified emails at these domains sign in
	ProviderName string   // OIDC_PROVIDER_NAME: shown as "Sign in with …"
}

// Enabled reports whether single sign-on is configured.
func (o OIDC) Enabled() bool { return o.Issuer != "" }

// DefaultMinGroupSize is the smallest group an aggregate may describe; the
// configuration can raise it, never lower it.
const DefaultMinGroupSize = 5

// DefaultInteractionRetention is how long interaction metadata is kept unless
// INTERACTION_RETENTION says otherwise: a year, long past the point where an
// interaction still counts for anything (its weight halves every 30 days).
const DefaultInteractionRetention = 365 * 24 * time.Hour

// MinInteractionRetention is the shortest retention INTERACTION_RETENTION may
// set: a shorter one would purge what the day's analytics are computed from.
const MinInteractionRetention = 24 * time.Hour

// Registration modes: who may create an account.
const (
	RegistrationOpen   = "open"   // anyone who can reach the server may sign up
	RegistrationInvite = "invite" // only with an invite a steward created
)

// Names lists every environment variable the server reads, in README order.
var Names = []string{
	"HTTP_ADDR", "HTTP_ADVERTISE", "DATABASE_URL", "NATS_URL", "NATS_LISTEN", "NATS_CLUSTER_NAME",
	"NATS_CLUSTER_LISTEN", "NATS_CLUSTER_PEERS", "INSTANCE_NAME", "DATA_DIR",
	"LOG_LEVEL", "LOG_FORMAT", "SEED_DEMO", "SHUTDOWN_TIMEOUT", "PEER_HEARTBEAT", "PEER_TTL",
	"REGISTRATION", "SESSION_IDLE_TIMEOUT", "SESSION_LIFETIME", "MIN_GROUP_SIZE",
	"NATS_SYNC_ALWAYS", "INTERACTION_RETENTION",
	"TRUSTED_PROXIES", "WRITE_LIMIT_PER_MINUTE", "SIGNUP_LIMIT_PER_MINUTE", "PASSWORD_BANNED_WORDS",
	"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_REDIRECT_URL", "OIDC_EMAIL_DOMAIN", "OIDC_PROVIDER_NAME",
}

// Error is a configuration problem with one variable.
type Error struct {
	Name    string
	Value   string
	Message string
}

func (e *Error) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("config: %s: %s", e.Name, e.Message)
	}
	return fmt.Sprintf("config: %s=%q: %s", e.Name, e.Value, e.Message)
}

// Parse reads and validates the configuration. getenv is os.Getenv in production;
// tests pass a map lookup. The first problem found is returned.
func Parse(getenv func(string) string) (Config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	bad := func(name, msg string) error { return &Error{Name: name, Value: getenv(name), Message: msg} }

	c := Config{
		HTTPAddr:        "127.0.0.1:8080",
		ClusterName:     "nodecommunity",
		DataDir:         ".data",
		LogLevel:        slog.LevelInfo,
		LogFormat:       "text",
		ShutdownTimeout: 10 * time.Second,
		Heartbeat:       2 * time.Second,
		PeerTTL:         10 * time.Second,
		// Invite-only by default: a server reachable by strangers should not let
		// them in unless the organisation chose so.
		Registration:    RegistrationInvite,
		MinGroupSize:    DefaultMinGroupSize,
		SessionIdle:     30 * time.Minute,
		SessionLifetime: 12 * time.Hour,

		InteractionRetention: DefaultInteractionRetention,
		WriteLimitPerMinute:  DefaultWriteLimitPerMinute,
		SignupLimitPerMinute: DefaultSignupLimitPerMinute,
	}

	if v := get("HTTP_ADDR"); v != "" {
		if err := checkHostPort(v); err != nil {
			return c, bad("HTTP_ADDR", err.Error()+" (example 127.0.0.1:8080)")
		}
		c.HTTPAddr = v
	}
	if v := get("HTTP_ADVERTISE"); v != "" {
		if err := checkHostPort(v); err != nil {
			return c, bad("HTTP_ADVERTISE", err.Error()+" (example localhost:8081)")
		}
		c.HTTPAdvertise = v
	}
	if v := get("DATABASE_URL"); v != "" {
		if _, err := pgxpool.ParseConfig(v); err != nil {
			return c, &Error{Name: "DATABASE_URL", Message: "not a PostgreSQL connection URL (example postgres://user:pass@127.0.0.1:5432/nodecommunity)"}
		}
		c.DatabaseURL = v
	}
	if v := get("NATS_URL"); v != "" {
		for _, u := range splitList(v) {
			if err := checkURL(u, "nats", "tls", "ws", "wss"); err != nil {
				return c, bad("NATS_URL", err.Error()+" (example nats://127.0.0.1:4222, comma-separated for several)")
			}
			c.NATSURLs = append(c.NATSURLs, u)
		}
	}
	if v := get("NATS_LISTEN"); v != "" {
		if err := checkHostPort(v); err != nil {
			return c, bad("NATS_LISTEN", err.Error()+" (example 127.0.0.1:4222)")
		}
		c.NATSListen = v
	}
	if v := get("NATS_CLUSTER_NAME"); v != "" {
		if strings.ContainsAny(v, " \t.*>") {
			return c, bad("NATS_CLUSTER_NAME", "must not contain spaces, dots, '*' or '>'")
		}
		c.ClusterName = v
	}
	if v := get("NATS_CLUSTER_LISTEN"); v != "" {
		if err := checkHostPort(v); err != nil {
			return c, bad("NATS_CLUSTER_LISTEN", err.Error()+" (example 127.0.0.1:6222)")
		}
		c.ClusterListen = v
	}
	if v := get("NATS_CLUSTER_PEERS"); v != "" {
		for _, u := range splitList(v) {
			if err := checkURL(u, "nats", "nats-route"); err != nil {
				return c, bad("NATS_CLUSTER_PEERS", err.Error()+" (example nats://127.0.0.1:6223,nats://127.0.0.1:6224)")
			}
			c.ClusterPeers = append(c.ClusterPeers, u)
		}
		if c.ClusterListen == "" {
			return c, bad("NATS_CLUSTER_PEERS", "needs NATS_CLUSTER_LISTEN too, so the peers can route back to this node")
		}
	}
	if len(c.NATSURLs) > 0 && (c.NATSListen != "" || c.ClusterListen != "") {
		return c, &Error{Name: "NATS_URL", Message: "connects to an external NATS; unset NATS_LISTEN and NATS_CLUSTER_LISTEN, which configure the embedded one"}
	}
	if v := get("DATA_DIR"); v != "" {
		c.DataDir = v
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if v := get("INSTANCE_NAME"); v != "" {
		if strings.ContainsAny(v, " \t.*>/\\") || len(v) > 64 {
			return c, bad("INSTANCE_NAME", "use at most 64 letters, digits, '-' or '_'")
		}
		c.InstanceName = v
	} else {
		c.InstanceName = defaultInstanceName(c.HTTPAddr)
	}
	if v := get("LOG_LEVEL"); v != "" {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(v)); err != nil {
			return c, bad("LOG_LEVEL", "use debug, info, warn or error")
		}
		c.LogLevel = lvl
	}
	if v := strings.ToLower(get("LOG_FORMAT")); v != "" {
		if v != "text" && v != "json" {
			return c, bad("LOG_FORMAT", "use text or json")
		}
		c.LogFormat = v
	}
	if v := get("SEED_DEMO"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, bad("SEED_DEMO", "use true or false")
		}
		c.SeedDemo = b
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{
		{"SHUTDOWN_TIMEOUT", &c.ShutdownTimeout, time.Second},
		{"PEER_HEARTBEAT", &c.Heartbeat, 100 * time.Millisecond},
		{"PEER_TTL", &c.PeerTTL, 300 * time.Millisecond},
		{"SESSION_IDLE_TIMEOUT", &c.SessionIdle, time.Minute},
		{"SESSION_LIFETIME", &c.SessionLifetime, time.Minute},
	} {
		v := get(d.name)
		if v == "" {
			continue
		}
		dur, err := time.ParseDuration(v)
		if err != nil {
			return c, bad(d.name, "not a duration (examples 500ms, 10s, 1m)")
		}
		if dur < d.min {
			return c, bad(d.name, "must be at least "+d.min.String())
		}
		*d.dst = dur
	}
	if v := strings.ToLower(get("REGISTRATION")); v != "" {
		if v != RegistrationOpen && v != RegistrationInvite {
			return c, bad("REGISTRATION", "use open or invite")
		}
		c.Registration = v
	}
	if v := get("NATS_SYNC_ALWAYS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, bad("NATS_SYNC_ALWAYS", "use true or false")
		}
		c.SyncAlways = b
	}
	if v := get("MIN_GROUP_SIZE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < DefaultMinGroupSize || n > 1000 {
			return c, bad("MIN_GROUP_SIZE", fmt.Sprintf("use a whole number from %d (the floor; it can only be raised) to 1000", DefaultMinGroupSize))
		}
		c.MinGroupSize = n
	}
	if v := get("INTERACTION_RETENTION"); v != "" {
		d, err := parseRetention(v)
		if err != nil {
			return c, bad("INTERACTION_RETENTION", "not a duration (examples 365d, 90d, 8760h)")
		}
		if d < MinInteractionRetention {
			return c, bad("INTERACTION_RETENTION", "must be at least 1 day (24h)")
		}
		c.InteractionRetention = d
	}
	if v := get("PASSWORD_BANNED_WORDS"); v != "" {
		for w := range strings.SplitSeq(v, ",") {
			w = strings.ToLower(strings.TrimSpace(w))
			if w == "" {
				continue
			}
			// Shorter words would refuse too many good passwords ("ab" is in
			// many a passphrase); 64 is far past any name worth banning.
			if n := utf8.RuneCountInString(w); n < 3 || n > 64 {
				return c, bad("PASSWORD_BANNED_WORDS", "each word needs 3 to 64 characters (example: acme, acme.example, widgetpro)")
			}
			c.PasswordBannedWords = append(c.PasswordBannedWords, w)
		}
	}
	if v := get("TRUSTED_PROXIES"); v != "" {
		ps, err := parseProxies(v)
		if err != nil {
			return c, bad("TRUSTED_PROXIES", err.Error()+" (example 10.0.0.0/8, 192.168.1.10)")
		}
		c.TrustedProxies = ps
	}
	for _, l := range []struct {
		name string
		into *int
	}{{"WRITE_LIMIT_PER_MINUTE", &c.WriteLimitPerMinute}, {"SIGNUP_LIMIT_PER_MINUTE", &c.SignupLimitPerMinute}} {
		if v := get(l.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1_000_000 {
				return c, bad(l.name, "use a whole number from 0 (no limit) to 1000000")
			}
			*l.into = n
		}
	}
	if err := parseOIDC(getenv, &c.OIDC); err != nil {
		return c, err
	}
	if c.SessionLifetime < c.SessionIdle {
		return c, &Error{Name: "SESSION_LIFETIME", Message: fmt.Sprintf("must be at least SESSION_IDLE_TIMEOUT (%s)", c.SessionIdle)}
	}
	if c.PeerTTL < 2*c.Heartbeat {
		return c, &Error{Name: "PEER_TTL", Message: fmt.Sprintf("must be at least twice PEER_HEARTBEAT (%s), or live peers would be dropped between heartbeats", c.Heartbeat)}
	}
	return c, nil
}

// Default anti-automation limits (ASVS 2.4.1). 600 writes a minute is ten a
// second, far above what a person clicks and what cmd/faults' clients send
// (20 a second spread over 50 nodes), yet it stops one account from flooding
// the network; 60 sign-ups a minute per address lets a whole office behind one
// NAT join at once.
const (
	DefaultWriteLimitPerMinute  = 600
	DefaultSignupLimitPerMinute = 60
)

// parseProxies reads a comma-separated list of CIDRs; a bare address is a
// single-host prefix.
func parseProxies(v string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range splitList(v) {
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR", f)
			}
			ps = append(ps, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", f)
		}
		a = a.Unmap()
		ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
	}
	return ps, nil
}

// parseRetention reads a Go duration, or a whole number of days ("365d"), which
// is how retention periods are usually written and what time.ParseDuration lacks.
func parseRetention(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, errors.New("not a number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(v)
}

// Embedded reports whether this instance runs its own NATS node.
func (c Config) Embedded() bool { return len(c.NATSURLs) == 0 }

func checkHostPort(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return errors.New("not host:port")
	}
	if strings.ContainsAny(host, " /") {
		return errors.New("host is not valid")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return errors.New("port must be a number from 0 to 65535")
	}
	return nil
}

func checkURL(v string, schemes ...string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a URL", v)
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return checkHostPort(u.Host)
		}
	}
	return fmt.Errorf("%q: scheme must be one of %s", v, strings.Join(schemes, ", "))
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func defaultInstanceName(httpAddr string) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	host = strings.NewReplacer(".", "-", " ", "-").Replace(host)
	_, port, _ := net.SplitHostPort(httpAddr)
	return host + "-" + port
}

// parseOIDC reads the OIDC_* variables. Single sign-on is off without
// OIDC_ISSUER; the others are then refused rather than ignored, so a typo in
// the issuer's name does not silently leave it off.
func parseOIDC(getenv func(string) string, o *OIDC) error {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	bad := func(name, msg string) error { return &Error{Name: name, Value: get(name), Message: msg} }
	// The secret is never echoed in an error.
	o.Issuer, o.ClientID, o.ClientSecret, o.RedirectURL = get("OIDC_ISSUER"), get("OIDC_CLIENT_ID"), get("OIDC_CLIENT_SECRET"), get("OIDC_REDIRECT_URL")
	domains, name := get("OIDC_EMAIL_DOMAIN"), get("OIDC_PROVIDER_NAME")
	if o.Issuer == "" {
		for _, n := range []string{"OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_REDIRECT_URL", "OIDC_EMAIL_DOMAIN", "OIDC_PROVIDER_NAME"} {
			if get(n) != "" {
				return &Error{Name: n, Message: "is set but OIDC_ISSUER is not: set OIDC_ISSUER to turn single sign-on on, or unset " + n}
			}
		}
		return nil
	}
	if err := checkWebURL(o.Issuer); err != nil {
		return bad("OIDC_ISSUER", err.Error()+" (example https://login.example.org/realms/acme)")
	}
	o.Issuer = strings.TrimRight(o.Issuer, "/") // go-oidc compares it to the discovery document's "issuer"
	if o.ClientID == "" {
		return bad("OIDC_CLIENT_ID", "is required with OIDC_ISSUER: the client id this site is registered under at the provider")
	}
	if o.RedirectURL == "" {
		return bad("OIDC_REDIRECT_URL", "is required with OIDC_ISSUER: this site's callback as registered at the provider (example https://community.example.org/auth/oidc/callback)")
	}
	if err := checkWebURL(o.RedirectURL); err != nil {
		return bad("OIDC_REDIRECT_URL", err.Error()+" (example https://community.example.org/auth/oidc/callback)")
	}
	if u, _ := url.Parse(o.RedirectURL); u.Path != "/auth/oidc/callback" {
		return bad("OIDC_REDIRECT_URL", "the path must be /auth/oidc/callback, where this server receives the provider's answer")
	}
	if domains == "" {
		return bad("OIDC_EMAIL_DOMAIN", "is required with OIDC_ISSUER: the organisation's email domain(s), comma-separated (example example.org,example.com); only verified addresses there may sign in")
	}
	for _, d := range splitList(domains) {
		d = strings.ToLower(strings.TrimPrefix(d, "@"))
		if !domainRe.MatchString(d) || len(d) > 253 {
			return bad("OIDC_EMAIL_DOMAIN", fmt.Sprintf("%q is not a domain name (example example.org,example.com)", d))
		}
		o.EmailDomains = append(o.EmailDomains, d)
	}
	if name == "" {
		name = "single sign-on"
	}
	if utf8.RuneCountInString(name) > 40 || strings.ContainsFunc(name, unicode.IsControl) {
		return bad("OIDC_PROVIDER_NAME", "use at most 40 printable characters (example Acme Login)")
	}
	o.ProviderName = name
	return nil
}

// domainRe is a domain name with at least two labels, in lower case.
var domainRe = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$`)

// checkWebURL accepts an absolute http(s) URL without credentials, query or
// fragment. Plain http is for a loopback host only: codes and tokens must not
// cross a network in clear text (and the session cookie is Secure anyway).
func checkWebURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("%q is not an absolute http(s) URL", v)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not carry a user, query or fragment", v)
	}
	if u.Scheme == "http" {
		if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("%q: use https (plain http only for localhost)", v)
		}
	}
	return nil
}
