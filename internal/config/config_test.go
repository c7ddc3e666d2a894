package config

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Parse(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:8080" {
		t.Errorf("HTTPAddr = %q, want 127.0.0.1:8080", c.HTTPAddr)
	}
	if c.DatabaseURL != "" || len(c.NATSURLs) != 0 || c.NATSListen != "" || c.ClusterListen != "" || len(c.ClusterPeers) != 0 {
		t.Errorf("defaults should configure no external database or NATS and no open NATS port: %+v", c)
	}
	if !c.Embedded() {
		t.Error("Embedded() = false by default, want true")
	}
	if !strings.HasSuffix(c.DataDir, "/.data") {
		t.Errorf("DataDir = %q, want an absolute path ending in /.data", c.DataDir)
	}
	if !strings.HasSuffix(c.InstanceName, "-8080") || strings.Contains(c.InstanceName, ".") {
		t.Errorf("InstanceName = %q, want hostname-8080 without dots", c.InstanceName)
	}
	if c.LogLevel != slog.LevelInfo || c.LogFormat != "text" || c.SeedDemo {
		t.Errorf("log/seed defaults wrong: %+v", c)
	}
	if c.ShutdownTimeout != 10*time.Second || c.Heartbeat != 2*time.Second || c.PeerTTL != 10*time.Second {
		t.Errorf("durations = %s %s %s, want 10s 2s 10s", c.ShutdownTimeout, c.Heartbeat, c.PeerTTL)
	}
	if c.ClusterName != "nodecommunity" {
		t.Errorf("ClusterName = %q", c.ClusterName)
	}
	if c.Registration != RegistrationInvite || c.SessionIdle != 30*time.Minute || c.SessionLifetime != 12*time.Hour {
		t.Errorf("registration/session defaults = %q %s %s, want invite 30m 12h", c.Registration, c.SessionIdle, c.SessionLifetime)
	}
}

func TestValidValues(t *testing.T) {
	c, err := Parse(env(map[string]string{
		"HTTP_ADDR":             "0.0.0.0:9000",
		"HTTP_ADVERTISE":        "localhost:8081",
		"DATABASE_URL":          "postgres://u:p@db.internal:5432/nc?sslmode=disable",
		"NATS_LISTEN":           "127.0.0.1:4222",
		"NATS_CLUSTER_LISTEN":   "127.0.0.1:6222",
		"NATS_CLUSTER_PEERS":    "nats://127.0.0.1:6223, nats-route://127.0.0.1:6224",
		"NATS_CLUSTER_NAME":     "acme",
		"INSTANCE_NAME":         "peer-a",
		"DATA_DIR":              "/tmp/nc",
		"LOG_LEVEL":             "debug",
		"LOG_FORMAT":            "JSON",
		"SEED_DEMO":             "true",
		"SHUTDOWN_TIMEOUT":      "5s",
		"PEER_HEARTBEAT":        "500ms",
		"PEER_TTL":              "3s",
		"REGISTRATION":          "Open",
		"SESSION_IDLE_TIMEOUT":  "10m",
		"SESSION_LIFETIME":      "1h",
		"MIN_GROUP_SIZE":        "8",
		"PASSWORD_BANNED_WORDS": " Acme, acme.example ,,widgetpro",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.PasswordBannedWords, []string{"acme", "acme.example", "widgetpro"}; !slices.Equal(got, want) {
		t.Errorf("PasswordBannedWords = %q, want %q", got, want)
	}
	if got, want := c.ClusterPeers, []string{"nats://127.0.0.1:6223", "nats-route://127.0.0.1:6224"}; !slices.Equal(got, want) {
		t.Errorf("ClusterPeers = %q, want %q", got, want)
	}
	if c.InstanceName != "peer-a" || c.DataDir != "/tmp/nc" || c.LogLevel != slog.LevelDebug || c.LogFormat != "json" ||
		!c.SeedDemo || c.ShutdownTimeout != 5*time.Second || c.Heartbeat != 500*time.Millisecond || c.PeerTTL != 3*time.Second ||
		c.Registration != RegistrationOpen || c.SessionIdle != 10*time.Minute || c.SessionLifetime != time.Hour ||
		c.ClusterName != "acme" || c.MinGroupSize != 8 || c.HTTPAddr != "0.0.0.0:9000" || c.HTTPAdvertise != "localhost:8081" || c.NATSListen != "127.0.0.1:4222" {
		t.Errorf("parsed %+v", c)
	}

	ext, err := Parse(env(map[string]string{"NATS_URL": "nats://10.0.0.1:4222,nats://10.0.0.2:4222"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ext.NATSURLs) != 2 || ext.Embedded() {
		t.Errorf("NATS_URL list: %+v", ext.NATSURLs)
	}
}

func TestInvalidValues(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want string // the variable the error must name
	}{
		{"http addr without port", map[string]string{"HTTP_ADDR": "localhost"}, "HTTP_ADDR"},
		{"http port not a number", map[string]string{"HTTP_ADDR": "127.0.0.1:http"}, "HTTP_ADDR"},
		{"http port out of range", map[string]string{"HTTP_ADDR": "127.0.0.1:70000"}, "HTTP_ADDR"},
		{"advertised address without port", map[string]string{"HTTP_ADVERTISE": "peer-1"}, "HTTP_ADVERTISE"},
		{"database url garbage", map[string]string{"DATABASE_URL": "postgres://%zz"}, "DATABASE_URL"},
		{"nats url wrong scheme", map[string]string{"NATS_URL": "http://127.0.0.1:4222"}, "NATS_URL"},
		{"nats url not a url", map[string]string{"NATS_URL": "::::"}, "NATS_URL"},
		{"nats listen", map[string]string{"NATS_LISTEN": "4222"}, "NATS_LISTEN"},
		{"cluster listen", map[string]string{"NATS_CLUSTER_LISTEN": "x:y"}, "NATS_CLUSTER_LISTEN"},
		{"peer not a url", map[string]string{"NATS_CLUSTER_LISTEN": "127.0.0.1:6222", "NATS_CLUSTER_PEERS": "127.0.0.1:6223"}, "NATS_CLUSTER_PEERS"},
		{"peers without cluster listen", map[string]string{"NATS_CLUSTER_PEERS": "nats://127.0.0.1:6223"}, "NATS_CLUSTER_PEERS"},
		{"external and embedded at once", map[string]string{"NATS_URL": "nats://127.0.0.1:4222", "NATS_LISTEN": "127.0.0.1:4223"}, "NATS_URL"},
		{"cluster name with dot", map[string]string{"NATS_CLUSTER_NAME": "a.b"}, "NATS_CLUSTER_NAME"},
		{"instance name with space", map[string]string{"INSTANCE_NAME": "peer a"}, "INSTANCE_NAME"},
		{"instance name too long", map[string]string{"INSTANCE_NAME": strings.Repeat("x", 65)}, "INSTANCE_NAME"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"min group size below the floor", map[string]string{"MIN_GROUP_SIZE": "3"}, "MIN_GROUP_SIZE"},
		{"min group size not a number", map[string]string{"MIN_GROUP_SIZE": "five"}, "MIN_GROUP_SIZE"},
		{"log format", map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT"},
		{"seed demo", map[string]string{"SEED_DEMO": "sure"}, "SEED_DEMO"},
		{"sync always", map[string]string{"NATS_SYNC_ALWAYS": "often"}, "NATS_SYNC_ALWAYS"},
		{"shutdown timeout not a duration", map[string]string{"SHUTDOWN_TIMEOUT": "10"}, "SHUTDOWN_TIMEOUT"},
		{"shutdown timeout too short", map[string]string{"SHUTDOWN_TIMEOUT": "10ms"}, "SHUTDOWN_TIMEOUT"},
		{"heartbeat too short", map[string]string{"PEER_HEARTBEAT": "1ms"}, "PEER_HEARTBEAT"},
		{"registration", map[string]string{"REGISTRATION": "closed"}, "REGISTRATION"},
		{"banned word too short", map[string]string{"PASSWORD_BANNED_WORDS": "acme, ab"}, "PASSWORD_BANNED_WORDS"},
		{"session idle timeout not a duration", map[string]string{"SESSION_IDLE_TIMEOUT": "30"}, "SESSION_IDLE_TIMEOUT"},
		{"session idle timeout too short", map[string]string{"SESSION_IDLE_TIMEOUT": "5s"}, "SESSION_IDLE_TIMEOUT"},
		{"session lifetime shorter than idle timeout", map[string]string{"SESSION_IDLE_TIMEOUT": "2h", "SESSION_LIFETIME": "1h"}, "SESSION_LIFETIME"},
		{"ttl shorter than two heartbeats", map[string]string{"PEER_HEARTBEAT": "5s", "PEER_TTL": "6s"}, "PEER_TTL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(env(tc.env))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *config.Error", err)
			}
			if ce.Name != tc.want {
				t.Errorf("error names %s, want %s", ce.Name, tc.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: "+tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("message %q should be one line starting with config: %s", msg, tc.want)
			}
		})
	}
}

func TestDatabaseURLPasswordNotEchoed(t *testing.T) {
	_, err := Parse(env(map[string]string{"DATABASE_URL": "postgres://u:s3cret@h:bad/db"}))
	if err == nil {
		t.Fatal("want an error for a bad port")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q leaks the password", err)
	}
}

func TestNamesAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range Names {
		if seen[n] {
			t.Errorf("%s listed twice", n)
		}
		seen[n] = true
	}
}

func TestNamesListEveryVariableRead(t *testing.T) {
	read := map[string]bool{}
	_, _ = Parse(func(k string) string { read[k] = true; return "" })
	for _, n := range Names {
		if !read[n] {
			t.Errorf("Names lists %s, which Parse never reads", n)
		}
		delete(read, n)
	}
	for n := range read {
		t.Errorf("Parse reads %s, which Names does not list", n)
	}
}

func TestConfigInteractionRetention(t *testing.T) {
	cases := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"default", "", DefaultInteractionRetention},
		{"days", "90d", 90 * 24 * time.Hour},
		{"go duration", "8760h", 365 * 24 * time.Hour},
		{"the minimum", "24h", 24 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(env(map[string]string{"INTERACTION_RETENTION": tc.value}))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.InteractionRetention; got != tc.want {
				t.Errorf("InteractionRetention = %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"23h", "0d", "year", "12x", "-5d", "1.5d"} {
		t.Run("invalid "+bad, func(t *testing.T) {
			_, err := Parse(env(map[string]string{"INTERACTION_RETENTION": bad}))
			var ce *Error
			if !errors.As(err, &ce) || ce.Name != "INTERACTION_RETENTION" {
				t.Fatalf("error = %v, want one naming INTERACTION_RETENTION", err)
			}
		})
	}
}

func TestOIDCConfig(t *testing.T) {
	valid := map[string]string{
		"OIDC_ISSUER":        "https://login.example.org/realms/acme/",
		"OIDC_CLIENT_ID":     "nodecommunity",
		"OIDC_CLIENT_SECRET": "s3cret",
		"OIDC_REDIRECT_URL":  "https://community.example.org/auth/oidc/callback",
		"OIDC_EMAIL_DOMAIN":  "Example.org, @example.com",
		"OIDC_PROVIDER_NAME": "Acme Login",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range valid {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	t.Run("off by default", func(t *testing.T) {
		c, err := Parse(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.OIDC.Enabled() {
			t.Errorf("got single sign-on on by default: %+v", c.OIDC)
		}
	})
	t.Run("valid", func(t *testing.T) {
		c, err := Parse(env(valid))
		if err != nil {
			t.Fatal(err)
		}
		o := c.OIDC
		if !o.Enabled() || o.Issuer != "https://login.example.org/realms/acme" || o.ClientID != "nodecommunity" || o.ClientSecret != "s3cret" ||
			o.RedirectURL != "https://community.example.org/auth/oidc/callback" || o.ProviderName != "Acme Login" {
			t.Errorf("got %+v", o)
		}
		if got, want := o.EmailDomains, []string{"example.org", "example.com"}; !slices.Equal(got, want) {
			t.Errorf("got domains %q, want %q", got, want)
		}
	})
	t.Run("defaults with the required ones", func(t *testing.T) {
		c, err := Parse(env(with("OIDC_PROVIDER_NAME", "")))
		if err != nil {
			t.Fatal(err)
		}
		if c.OIDC.ProviderName != "single sign-on" {
			t.Errorf("got provider name %q, want single sign-on", c.OIDC.ProviderName)
		}
		c, err = Parse(env(with("OIDC_CLIENT_SECRET", "")))
		if err != nil || c.OIDC.ClientSecret != "" {
			t.Errorf("a public client (no secret): got %v, %q", err, c.OIDC.ClientSecret)
		}
		if _, err := Parse(env(with("OIDC_ISSUER", "http://127.0.0.1:5556"))); err != nil {
			t.Errorf("a loopback issuer over http: %v", err)
		}
	})
	cases := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"client id without issuer", map[string]string{"OIDC_CLIENT_ID": "x"}, "OIDC_CLIENT_ID"},
		{"domain without issuer", map[string]string{"OIDC_EMAIL_DOMAIN": "example.org"}, "OIDC_EMAIL_DOMAIN"},
		{"issuer not a url", with("OIDC_ISSUER", "login.example.org"), "OIDC_ISSUER"},
		{"issuer over plain http", with("OIDC_ISSUER", "http://login.example.org"), "OIDC_ISSUER"},
		{"issuer with a query", with("OIDC_ISSUER", "https://login.example.org/?a=b"), "OIDC_ISSUER"},
		{"no client id", with("OIDC_CLIENT_ID", ""), "OIDC_CLIENT_ID"},
		{"no redirect url", with("OIDC_REDIRECT_URL", ""), "OIDC_REDIRECT_URL"},
		{"relative redirect url", with("OIDC_REDIRECT_URL", "/auth/oidc/callback"), "OIDC_REDIRECT_URL"},
		{"redirect url with another path", with("OIDC_REDIRECT_URL", "https://community.example.org/callback"), "OIDC_REDIRECT_URL"},
		{"redirect url over plain http", with("OIDC_REDIRECT_URL", "http://community.example.org/auth/oidc/callback"), "OIDC_REDIRECT_URL"},
		{"no email domain", with("OIDC_EMAIL_DOMAIN", ""), "OIDC_EMAIL_DOMAIN"},
		{"email domain not a domain", with("OIDC_EMAIL_DOMAIN", "example.org, not a domain"), "OIDC_EMAIL_DOMAIN"},
		{"email domain without a dot", with("OIDC_EMAIL_DOMAIN", "localhost"), "OIDC_EMAIL_DOMAIN"},
		{"provider name too long", with("OIDC_PROVIDER_NAME", strings.Repeat("x", 41)), "OIDC_PROVIDER_NAME"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(env(tc.env))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a *config.Error", err)
			}
			if ce.Name != tc.want {
				t.Errorf("got an error naming %s, want %s", ce.Name, tc.want)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "config: "+tc.want) || strings.Contains(msg, "\n") || strings.Contains(msg, "s3cret") {
				t.Errorf("got %q, want one line starting with config: %s and no secret", msg, tc.want)
			}
		})
	}
}

func TestConfigTrustedProxiesAndLimits(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		c, err := Parse(env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.TrustedProxies) != 0 {
			t.Errorf("TrustedProxies = %v, want none (trust no proxy)", c.TrustedProxies)
		}
		if c.WriteLimitPerMinute != 600 || c.SignupLimitPerMinute != 60 {
			t.Errorf("limits = %d, %d, want 600, 60", c.WriteLimitPerMinute, c.SignupLimitPerMinute)
		}
	})
	t.Run("valid", func(t *testing.T) {
		c, err := Parse(env(map[string]string{
			"TRUSTED_PROXIES":         "10.0.0.0/8, 192.168.1.10 ,fd00::/8",
			"WRITE_LIMIT_PER_MINUTE":  "0",
			"SIGNUP_LIMIT_PER_MINUTE": "5",
		}))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range c.TrustedProxies {
			got = append(got, p.String())
		}
		if want := []string{"10.0.0.0/8", "192.168.1.10/32", "fd00::/8"}; !slices.Equal(got, want) {
			t.Errorf("TrustedProxies = %v, want %v", got, want)
		}
		if c.WriteLimitPerMinute != 0 || c.SignupLimitPerMinute != 5 {
			t.Errorf("limits = %d, %d, want 0, 5", c.WriteLimitPerMinute, c.SignupLimitPerMinute)
		}
	})
	for name, kv := range map[string][2]string{
		"proxy not a cidr":  {"TRUSTED_PROXIES", "10.0.0.0/33"},
		"proxy a hostname":  {"TRUSTED_PROXIES", "proxy.internal"},
		"write negative":    {"WRITE_LIMIT_PER_MINUTE", "-1"},
		"signup not number": {"SIGNUP_LIMIT_PER_MINUTE", "many"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(env(map[string]string{kv[0]: kv[1]}))
			var ce *Error
			if !errors.As(err, &ce) || ce.Name != kv[0] {
				t.Fatalf("error = %v, want one naming %s", err, kv[0])
			}
		})
	}
}
