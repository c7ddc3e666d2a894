package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestClientAddressTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.10/32"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name    string
		peer    string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies trusted: the header is never read", "10.0.0.1", []string{"203.0.113.7"}, nil, "10.0.0.1"},
		{"untrusted peer: a spoofed header is ignored", "198.51.100.9", []string{"203.0.113.7"}, trusted, "198.51.100.9"},
		{"trusted peer without a header", "10.0.0.1", nil, trusted, "10.0.0.1"},
		{"trusted peer: the entry it appended", "10.0.0.1", []string{"203.0.113.7"}, trusted, "203.0.113.7"},
		{"rightmost untrusted entry, not the spoofed leftmost", "10.0.0.1", []string{"1.2.3.4, 203.0.113.7"}, trusted, "203.0.113.7"},
		{"chains of trusted proxies are walked", "10.0.0.1", []string{"1.2.3.4, 203.0.113.7, 192.168.1.10", "10.9.9.9"}, trusted, "203.0.113.7"},
		{"an untrusted hop in the middle stops the walk", "10.0.0.1", []string{"203.0.113.7, 192.168.1.11, 10.2.2.2"}, trusted, "192.168.1.11"},
		{"garbage stops at the last trusted hop", "10.0.0.1", []string{"nonsense, 10.2.2.2"}, trusted, "10.2.2.2"},
		{"every hop trusted: the leftmost", "10.0.0.1", []string{"10.3.3.3, 10.2.2.2"}, trusted, "10.3.3.3"},
		{"IPv6 through an IPv6 proxy", "fd00::1", []string{"2001:db8::5"}, trusted, "2001:db8::5"},
		{"IPv4-mapped IPv6 is unmapped", "::ffff:10.0.0.1", []string{"::ffff:203.0.113.7"}, trusted, "203.0.113.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := forwardedClient(tc.peer, tc.xff, tc.trusted); got != tc.want {
				t.Errorf("forwardedClient(%q, %q) = %q, want %q", tc.peer, tc.xff, got, tc.want)
			}
		})
	}
	t.Run("through the router", func(t *testing.T) {
		s := New(Deps{TrustedProxies: trusted})
		var got string
		h := s.resolveClientAddress(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = clientAddress(r) }))
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.1:5555"
		r.Header.Set("X-Forwarded-For", "9.9.9.9, 203.0.113.7")
		h.ServeHTTP(httptest.NewRecorder(), r)
		if got != "203.0.113.7" {
			t.Errorf("clientAddress = %q, want 203.0.113.7", got)
		}
	})
}

func TestAuditRefusalCap(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	c := newRefusalCap()
	c.now = func() time.Time { return now }
	written := 0
	for range 75 {
		w, ended := c.take("203.0.113.7")
		if len(ended) != 0 {
			t.Fatalf("suppressed runs %v within the minute, want none", ended)
		}
		if w {
			written++
		}
	}
	if written != auditRefusalsPerMinute {
		t.Errorf("rows written in a minute = %d, want %d", written, auditRefusalsPerMinute)
	}
	if w, _ := c.take("198.51.100.1"); !w {
		t.Error("another address's first refusal is not written; the cap is per address")
	}
	now = now.Add(auditRefusalWindow + time.Second)
	w, ended := c.take("198.51.100.1")
	if !w {
		t.Error("first refusal of a new minute is not written")
	}
	if len(ended) != 1 || ended[0].address != "203.0.113.7" || ended[0].count != 15 {
		t.Errorf("suppressed runs = %+v, want one for 203.0.113.7 with count 15", ended)
	}
	if w, _ := c.take("203.0.113.7"); !w {
		t.Error("the capped address's first refusal of a new minute is not written")
	}

	t.Run("memory is bounded", func(t *testing.T) {
		c := newRefusalCap()
		c.now = func() time.Time { return now }
		for i := range auditCapAddresses + 100 {
			c.take(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String())
		}
		if n := len(c.per); n > auditCapAddresses+1 {
			t.Errorf("addresses kept = %d, want at most %d", n, auditCapAddresses+1)
		}
	})
}

// TestOIDCClientRefusesRedirects: discovery, the key set and the token
// endpoint are never followed through a redirect (ASVS 15.3.2).
func TestOIDCClientRefusesRedirects(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	doc := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize", "token_endpoint": srv.URL + "/token",
			"jwks_uri": srv.URL + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
		})
	}
	var redirect atomic.Bool
	redirect.Store(true)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if redirect.Load() {
			http.Redirect(w, r, "/elsewhere/config", http.StatusFound)
			return
		}
		doc(w, r)
	})
	mux.HandleFunc("GET /elsewhere/config", func(w http.ResponseWriter, r *http.Request) { followed.Add(1); doc(w, r) })
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere/token", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("POST /elsewhere/token", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"a","token_type":"Bearer","id_token":"x.y.z"}`))
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere/jwks", http.StatusFound)
	})
	mux.HandleFunc("GET /elsewhere/jwks", func(w http.ResponseWriter, r *http.Request) {
		followed.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	})
	// A client configured to follow redirects is overruled.
	sso := &SSO{Issuer: srv.URL, ClientID: "c", RedirectURL: "http://127.0.0.1/auth/oidc/callback",
		Client: &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}}
	ctx := context.Background()

	t.Run("discovery", func(t *testing.T) {
		if _, err := sso.relyingParty(ctx); err == nil {
			t.Error("discovery through a redirect worked, want it refused")
		}
	})
	redirect.Store(false)
	rp, err := sso.relyingParty(ctx)
	if err != nil {
		t.Fatalf("discovery without a redirect: %v", err)
	}
	t.Run("token endpoint", func(t *testing.T) {
		_, err := rp.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, sso.client()), "code")
		if err == nil || !strings.Contains(err.Error(), "307") {
			t.Errorf("code exchange through a redirect: err = %v, want the 307 refused", err)
		}
	})
	t.Run("key set", func(t *testing.T) {
		// A token whose claims pass makes the verifier fetch the key set.
		enc := base64.RawURLEncoding.EncodeToString
		claims, _ := json.Marshal(map[string]any{"iss": srv.URL, "aud": "c", "sub": "s",
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix()})
		jwt := enc([]byte(`{"alg":"RS256","kid":"k","typ":"JWT"}`)) + "." + enc(claims) + "." + enc([]byte("signature"))
		if _, err := rp.verifier.Verify(ctx, jwt); err == nil {
			t.Error("verification worked, want it to fail without the keys")
		}
	})
	if n := followed.Load(); n != 0 {
		t.Errorf("redirects followed = %d, want 0", n)
	}
}
