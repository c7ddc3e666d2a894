package community

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestCommonPasswordCorpus(t *testing.T) {
	if got, want := len(breachedPasswords()), 7000; got < want {
		t.Errorf("breached corpus has %d passwords, want at least %d", got, want)
	}
	if got, want := CommonPasswordCount(), 7000; got < want {
		t.Errorf("common-password set has %d entries, want at least %d", got, want)
	}
	for _, pw := range []string{"baseball", "Football", "trustno1", "superman", "iloveyou", "qwertyuiop", "starwars", "sunshine"} {
		t.Run("refused "+pw, func(t *testing.T) {
			acctWantField(t, ValidateNewPassword(pw, nil), "password")
		})
	}
	t.Run("from the zxcvbn list only", func(t *testing.T) {
		// Neither in the workplace list: only the breached corpus knows them.
		for _, pw := range []string{"jackson5", "steelers", "midnight", "scorpion"} {
			acctWantField(t, ValidateNewPassword(pw, nil), "password")
		}
	})
	t.Run("common password with digits added", func(t *testing.T) {
		acctWantField(t, ValidateNewPassword("dragon2026!", nil), "password")
		acctWantField(t, ValidateNewPassword("Sunshine 1984", nil), "password")
	})
	t.Run("good passphrase accepted", func(t *testing.T) {
		if err := ValidateNewPassword("correct horse battery staple 42", []string{"acme"}, "ana", "ana.lopez"); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
}

func TestContextWordsRefused(t *testing.T) {
	for _, c := range []struct {
		name, pw string
		banned   []string
		personal []string
	}{
		{"product name", "my NodeCommunity pass", nil, nil},
		{"product name spaced", "love node-community 42", nil, nil},
		{"organisation word", "Acme-rocks-the-house", []string{"acme"}, nil},
		{"organisation domain", "acme.example is great", []string{"acme.example"}, nil},
		{"own handle", "margarethe forever 7", nil, []string{"margarethe"}},
		{"own email name", "i am ana.lopez here", nil, []string{"ana.lopez"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			acctWantField(t, ValidateNewPassword(c.pw, c.banned, c.personal...), "password")
		})
	}
	t.Run("short handle not banned", func(t *testing.T) {
		if err := ValidateNewPassword("a long and unusual passphrase", nil, "an"); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
	t.Run("sign-up refuses the handle", func(t *testing.T) {
		s := acctStore(t)
		_, err := s.CreateAccount(context.Background(), SignupInput{
			Email: "rosalind@example.test", Password: "rosalind was here 99", Handle: "rosalind", DisplayName: "Rosalind",
		})
		acctWantField(t, err, "password")
		_, err = s.CreateAccount(context.Background(), SignupInput{
			Email: "lin@example.test", Password: "widgetpro for ever", Handle: "lin", DisplayName: "Lin", BannedWords: []string{"widgetpro"},
		})
		acctWantField(t, err, "password")
	})
}

// oldHash is an argon2id hash with parameters weaker than today's, as an
// earlier version of HashPassword would have made.
func oldHash(t *testing.T, pw string) string {
	t.Helper()
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt)
	key := argon2.IDKey([]byte(pw), salt, 2, 19456, 1, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=19456,t=2,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
}

func TestPasswordRehash(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	n := acctSignup(t, s, "rehash")
	old := oldHash(t, acctPassword)
	if !needsRehash(old) {
		t.Fatal("got needsRehash(old) false, want true")
	}
	if _, err := s.pool.Exec(ctx, `UPDATE nodes SET password_hash = $2 WHERE id = $1`, n.ID, old); err != nil {
		t.Fatal(err)
	}
	t.Run("wrong password keeps the old hash", func(t *testing.T) {
		if _, err := s.SignIn(ctx, "rehash@example.test", "not the password at all"); !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
		if got := acctHash(t, s, n.ID); got != old {
			t.Errorf("got hash %q, want the old one unchanged", got)
		}
	})
	t.Run("sign-in upgrades the hash", func(t *testing.T) {
		if _, err := s.SignIn(ctx, "rehash@example.test", acctPassword); err != nil {
			t.Fatal(err)
		}
		got := acctHash(t, s, n.ID)
		if got == old || needsRehash(got) {
			t.Errorf("got hash %q after sign-in, want one with today's parameters", got)
		}
		if _, err := s.Authenticate(ctx, "rehash@example.test", acctPassword); err != nil {
			t.Errorf("sign-in with the upgraded hash: got %v, want nil", err)
		}
	})
	t.Run("current hash is left alone", func(t *testing.T) {
		before := acctHash(t, s, n.ID)
		if _, err := s.Authenticate(ctx, "rehash@example.test", acctPassword); err != nil {
			t.Fatal(err)
		}
		if got := acctHash(t, s, n.ID); got != before {
			t.Errorf("got a new hash for a current one")
		}
	})
}

func acctHash(t *testing.T, s *Store, id int64) string {
	t.Helper()
	var h string
	if err := s.pool.QueryRow(context.Background(), `SELECT password_hash FROM nodes WHERE id = $1`, id).Scan(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

func acctEpoch(t *testing.T, s *Store, id int64) int64 {
	t.Helper()
	e, err := s.SessionEpoch(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func acctAudits(t *testing.T, s *Store, action string, actor int64) int {
	t.Helper()
	var c int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = $1 AND actor_id = $2`, action, actor).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	n := acctSignup(t, s, "changer")
	const newPassword = "seven quiet rivers under glass"
	t.Run("wrong current password", func(t *testing.T) {
		err := s.ChangePassword(ctx, n.ID, PasswordChange{Current: "not my password at all", New: newPassword})
		acctWantField(t, err, "current_password")
		if got := acctAudits(t, s, "signin_failed", n.ID); got != 1 {
			t.Errorf("got %d failed sign-ins recorded, want 1 (the guess counts towards the delay)", got)
		}
	})
	for _, c := range []struct{ name, pw string }{
		{"too short", "short"},
		{"common", "baseball1"},
		{"own handle", "changer of the guard"},
		{"product name", "nodecommunity forever"},
	} {
		t.Run("new password "+c.name, func(t *testing.T) {
			acctWantField(t, s.ChangePassword(ctx, n.ID, PasswordChange{Current: acctPassword, New: c.pw}), "new_password")
		})
	}
	t.Run("banned word", func(t *testing.T) {
		err := s.ChangePassword(ctx, n.ID, PasswordChange{Current: acctPassword, New: "acme corp is home", BannedWords: []string{"acme"}})
		acctWantField(t, err, "new_password")
	})
	keep, _, err := s.CreateAccessToken(ctx, n.ID, "this client")
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := s.CreateAccessToken(ctx, n.ID, "another client")
	if err != nil {
		t.Fatal(err)
	}
	epoch := acctEpoch(t, s, n.ID)
	t.Run("changed, other sessions ended", func(t *testing.T) {
		if err := s.ChangePassword(ctx, n.ID, PasswordChange{Current: acctPassword, New: newPassword, EndOtherSessions: true, KeepToken: keep}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "changer@example.test", acctPassword); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("old password: got %v, want ErrUnauthorized", err)
		}
		if _, err := s.Authenticate(ctx, "changer@example.test", newPassword); err != nil {
			t.Errorf("new password: got %v, want nil", err)
		}
		if got := acctEpoch(t, s, n.ID); got != epoch+1 {
			t.Errorf("got epoch %d, want %d (every browser session ended)", got, epoch+1)
		}
		if _, _, err := s.NodeByAccessToken(ctx, other); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("other token: got %v, want ErrUnauthorized", err)
		}
		list, err := s.ListAccessTokens(ctx, n.ID)
		if err != nil || len(list) != 1 || list[0].ID != keep {
			t.Errorf("got tokens %v (%v), want only the one the change came with", list, err)
		}
		if got := acctAudits(t, s, ActionPasswordChange, n.ID); got != 1 {
			t.Errorf("got %d password_change audit rows, want 1", got)
		}
	})
	t.Run("changed, other sessions kept", func(t *testing.T) {
		epoch := acctEpoch(t, s, n.ID)
		if err := s.ChangePassword(ctx, n.ID, PasswordChange{Current: newPassword, New: acctPassword}); err != nil {
			t.Fatal(err)
		}
		if got := acctEpoch(t, s, n.ID); got != epoch {
			t.Errorf("got epoch %d, want %d unchanged", got, epoch)
		}
	})
}

func TestEndNodeSessions(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	steward := acctSignup(t, s, "endsteward") // the first sign-up is the steward
	member := acctSignup(t, s, "endmember")
	_, token, err := s.CreateAccessToken(ctx, member.ID, "laptop")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("member may not", func(t *testing.T) {
		if err := s.EndNodeSessions(ctx, member.ID, "endsteward"); !errors.Is(err, ErrForbidden) {
			t.Errorf("got %v, want ErrForbidden", err)
		}
	})
	t.Run("unknown handle", func(t *testing.T) {
		if err := s.EndNodeSessions(ctx, steward.ID, "nobody-here"); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("steward ends them", func(t *testing.T) {
		epoch := acctEpoch(t, s, member.ID)
		if err := s.EndNodeSessions(ctx, steward.ID, "@EndMember"); err != nil {
			t.Fatal(err)
		}
		if got := acctEpoch(t, s, member.ID); got != epoch+1 {
			t.Errorf("got epoch %d, want %d", got, epoch+1)
		}
		if _, _, err := s.NodeByAccessToken(ctx, token); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("token: got %v, want ErrUnauthorized", err)
		}
		if _, err := s.Authenticate(ctx, "endmember@example.test", acctPassword); err != nil {
			t.Errorf("still active: got %v, want a working sign-in", err)
		}
		if got := acctAudits(t, s, ActionEndSessions, steward.ID); got != 1 {
			t.Errorf("got %d end_sessions audit rows, want 1", got)
		}
	})
}
