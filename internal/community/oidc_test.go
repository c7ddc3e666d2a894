package community

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestOIDCHandleFromEmail(t *testing.T) {
	for email, want := range map[string]string{
		"Ana.Lopez@example.org":              "ana-lopez",
		"ana.lopez+lab@example.org":          "ana-lopez",
		"o'brien@example.org":                "o-brien",
		"__jo__@example.org":                 "jo",
		"a@example.org":                      "a", // too short: uniqueHandle adds a suffix
		"..@example.org":                     "",
		"zoë.müller@example.org":             "zo-m-ller",
		"first_last@example.org":             "first_last",
		strings.Repeat("x", 40) + "@e":       strings.Repeat("x", 32),
		strings.Repeat("x", 31) + ".y@e.org": strings.Repeat("x", 31),
	} {
		if got := HandleFromEmail(email); got != want {
			t.Errorf("HandleFromEmail(%q): got %q, want %q", email, got, want)
		}
	}
}

func TestOIDCEmailInDomains(t *testing.T) {
	domains := []string{"example.org", "example.com"}
	for email, want := range map[string]bool{
		"a@example.org": true, "a@EXAMPLE.com": true, "a@sub.example.org": false, "a@evil-example.org": false,
		"a@example.org.evil": false, "example.org": false,
	} {
		if got := EmailInDomains(email, domains); got != want {
			t.Errorf("EmailInDomains(%q): got %v, want %v", email, got, want)
		}
	}
}

func TestOIDCSignInExternal(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	domains := []string{"example.test"}
	const iss = "https://login.example.test"
	id := func(sub, email string) ExternalIdentity {
		return ExternalIdentity{Issuer: iss, Subject: sub, Email: email, EmailVerified: true}
	}

	t.Run("short handles get a suffix", func(t *testing.T) {
		n, outcome, err := s.SignInExternal(ctx, id("sub-a", "a@example.test"), domains)
		if err != nil || outcome != SSOCreated || n.Handle != "a-2" || n.DisplayName != "a" || !n.Steward {
			t.Errorf("got %+v %v %v, want a created steward @a-2", n, outcome, err)
		}
	})
	t.Run("an imported node without a password is linked", func(t *testing.T) {
		imported, err := scanNode(s.pool.QueryRow(ctx, `INSERT INTO nodes AS n (handle, display_name, email) VALUES ('imp', 'Imported', 'imp@example.test') RETURNING `+nodeColumns))
		if err != nil {
			t.Fatal(err)
		}
		n, outcome, err := s.SignInExternal(ctx, id("sub-imp", "IMP@example.test"), domains)
		if err != nil || outcome != SSOLinked || n.ID != imported.ID {
			t.Errorf("got %+v %v %v, want node %d linked", n, outcome, err, imported.ID)
		}
		n, outcome, err = s.SignInExternal(ctx, id("sub-imp", "imp@example.test"), domains)
		if err != nil || outcome != SSOReturning || n.ID != imported.ID {
			t.Errorf("second time: got %+v %v %v, want node %d returning", n, outcome, err, imported.ID)
		}
	})
	t.Run("a returning identity whose email left the domain is refused", func(t *testing.T) {
		if _, _, err := s.SignInExternal(ctx, id("sub-imp", "imp@elsewhere.test"), domains); !errors.Is(err, ErrEmailDomain) {
			t.Errorf("got %v, want ErrEmailDomain", err)
		}
	})
	t.Run("concurrent first sign-ins create one node", func(t *testing.T) {
		const tries = 8
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids = map[int64]int{}
		)
		for range tries {
			wg.Go(func() {
				n, _, err := s.SignInExternal(ctx, id("sub-race", "race@example.test"), domains)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids[n.ID]++
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(ids) != 1 {
			t.Errorf("got nodes %v, want one node for every sign-in", ids)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		unverified := id("sub-u", "u@example.test")
		unverified.EmailVerified = false
		for name, tc := range map[string]struct {
			in   ExternalIdentity
			want error
		}{
			"unverified": {unverified, ErrEmailUnverified},
			"domain":     {id("sub-d", "d@example.test.evil"), ErrEmailDomain},
			"no subject": {id("", "x@example.test"), nil},
			"no email":   {id("sub-x", ""), nil},
		} {
			_, _, err := s.SignInExternal(ctx, tc.in, domains)
			var ve *ValidationError
			if tc.want != nil && !errors.Is(err, tc.want) || tc.want == nil && !errors.As(err, &ve) {
				t.Errorf("%s: got %v, want %v", name, err, tc.want)
			}
			if !errors.Is(err, ErrForbidden) && tc.want != nil {
				t.Errorf("%s: got %v, want it to match ErrForbidden", name, err)
			}
		}
	})
}
