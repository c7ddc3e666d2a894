package community

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

const acctPassword = "a long and unusual passphrase"

func acctStore(t *testing.T) *Store {
	t.Helper()
	return NewStore(testenv.Pool(t, testenv.DatabaseURL(t)))
}

func acctSignup(t *testing.T, s *Store, handle string) Node {
	t.Helper()
	n, err := s.CreateAccount(context.Background(), SignupInput{
		Email: handle + "@example.test", Password: acctPassword, Handle: handle, DisplayName: "Person " + handle,
	})
	if err != nil {
		t.Fatalf("create account %s: %v", handle, err)
	}
	return n
}

func acctWantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v, want a validation error on %q", err, field)
	}
	if ve.Field != field {
		t.Errorf("got validation error on %q (%s), want %q", ve.Field, ve.Message, field)
	}
}

func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	h, err := HashPassword(ctx, "pässword with ünicode")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=47104,t=1,p=1$") {
		t.Errorf("got hash %q, want the PHC argon2id format with m=47104,t=1,p=1", h)
	}
	h2, _ := HashPassword(ctx, "pässword with ünicode")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for pw, want := range map[string]bool{"pässword with ünicode": true, "pässword with unicode": false, "": false} {
		ok, err := checkPassword(ctx, h, pw)
		if err != nil || ok != want {
			t.Errorf("checkPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=x$AAAA$AAAA"} {
		if _, err := checkPassword(ctx, bad, "x"); err == nil {
			t.Errorf("checkPassword accepted the malformed hash %q", bad)
		}
	}
}

// TestPasswordHashDuration measures one hash; it is a measurement, not a limit.
func TestPasswordHashDuration(t *testing.T) {
	var ds []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := HashPassword(context.Background(), acctPassword); err != nil {
			t.Fatal(err)
		}
		ds = append(ds, time.Since(start))
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	t.Logf("argon2id m=%d KiB t=%d p=%d: median of 5 hashes %s (min %s, max %s)", argonMemoryKiB, argonTime, argonThreads, ds[2], ds[0], ds[4])
}

func TestCreateAccount(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)

	first := acctSignup(t, s, "ada")
	t.Run("first node becomes steward", func(t *testing.T) {
		if !first.Steward || !first.Active {
			t.Errorf("got steward=%v active=%v, want the first node an active steward", first.Steward, first.Active)
		}
	})
	t.Run("later nodes are members", func(t *testing.T) {
		if n := acctSignup(t, s, "ben"); n.Steward {
			t.Error("got the second node a steward, want a member")
		}
	})
	t.Run("email is lower-cased and the handle too", func(t *testing.T) {
		n, err := s.CreateAccount(ctx, SignupInput{Email: " Cleo@Example.TEST ", Password: acctPassword, Handle: "Cleo", DisplayName: " Cleo "})
		if err != nil {
			t.Fatal(err)
		}
		if n.Email != "cleo@example.test" || n.Handle != "cleo" || n.DisplayName != "Cleo" {
			t.Errorf("got %q %q %q, want cleo@example.test cleo Cleo", n.Email, n.Handle, n.DisplayName)
		}
	})
	t.Run("duplicate handle", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, SignupInput{Email: "other@example.test", Password: acctPassword, Handle: "ada", DisplayName: "X"})
		if !errors.Is(err, ErrConflict) || ConflictField(err) != "handle" {
			t.Errorf("got %v (field %q), want a conflict on handle", err, ConflictField(err))
		}
	})
	t.Run("duplicate email in another case", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, SignupInput{Email: "ADA@example.test", Password: acctPassword, Handle: "ada2", DisplayName: "X"})
		if !errors.Is(err, ErrConflict) || ConflictField(err) != "email" {
			t.Errorf("got %v (field %q), want a conflict on email", err, ConflictField(err))
		}
	})

	invalidCases := []struct {
		name  string
		in    SignupInput
		field string
	}{
		{"short password", SignupInput{Password: "short1!"}, "password"},
		{"long password", SignupInput{Password: strings.Repeat("x", 129)}, "password"},
		{"common password", SignupInput{Password: "password123"}, "password"},
		{"common password in another case", SignupInput{Password: "PassW0rd"}, "password"},
		{"weak password of digits", SignupInput{Password: "12345678"}, "password"},
		{"missing email", SignupInput{Email: " "}, "email"},
		{"malformed email", SignupInput{Email: "not-an-email"}, "email"},
		{"email with a name", SignupInput{Email: "Dan <dan@example.test>"}, "email"},
		{"email without a domain dot", SignupInput{Email: "dan@localhost"}, "email"},
		{"bad handle", SignupInput{Handle: "-dan"}, "handle"},
		{"handle too short", SignupInput{Handle: "d"}, "handle"},
		{"empty display name", SignupInput{DisplayName: "  "}, "display_name"},
		{"long display name", SignupInput{DisplayName: strings.Repeat("é", 101)}, "display_name"},
	}
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			in := SignupInput{Email: "dan@example.test", Password: acctPassword, Handle: "dan", DisplayName: "Dan"}
			if tc.in.Email != "" {
				in.Email = tc.in.Email
			}
			if tc.in.Password != "" {
				in.Password = tc.in.Password
			}
			if tc.in.Handle != "" {
				in.Handle = tc.in.Handle
			}
			if tc.in.DisplayName != "" {
				in.DisplayName = tc.in.DisplayName
			}
			_, err := s.CreateAccount(ctx, in)
			acctWantField(t, err, tc.field)
		})
	}
	t.Run("128 characters is long enough", func(t *testing.T) {
		if err := ValidatePassword(strings.Repeat("ü", 128)); err != nil {
			t.Errorf("got %v, want 128 characters accepted", err)
		}
	})
}

func TestFirstStewardUnderConcurrency(t *testing.T) {
	s := acctStore(t)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			h := fmt.Sprintf("racer%d", i)
			if _, err := s.CreateAccount(context.Background(), SignupInput{
				Email: h + "@example.test", Password: acctPassword, Handle: h, DisplayName: h,
			}); err != nil {
				t.Errorf("create account %s: %v", h, err)
			}
		})
	}
	wg.Wait()
	var stewards int
	if err := s.pool.QueryRow(context.Background(), `SELECT count(*) FROM nodes WHERE steward`).Scan(&stewards); err != nil {
		t.Fatal(err)
	}
	if stewards != 1 {
		t.Errorf("got %d stewards after 4 concurrent first sign-ups, want 1", stewards)
	}
}

func TestInvites(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	inviteOnly := func(handle, invite string) (Node, error) {
		return s.CreateAccount(ctx, SignupInput{Email: handle + "@example.test", Password: acctPassword,
			Handle: handle, DisplayName: handle, Invite: invite, RequireInvite: true})
	}

	steward, err := inviteOnly("founder", "")
	if err != nil || !steward.Steward {
		t.Fatalf("got %v (steward %v), want the first node to sign up without an invite and become steward", err, steward.Steward)
	}
	member := acctSignup(t, s, "member")

	t.Run("no invite", func(t *testing.T) {
		if _, err := inviteOnly("nobody", ""); !errors.Is(err, ErrInviteRequired) || !errors.Is(err, ErrForbidden) {
			t.Errorf("got %v, want ErrInviteRequired", err)
		}
	})
	t.Run("unknown invite", func(t *testing.T) {
		if _, err := inviteOnly("nobody", "nci_bogus"); !errors.Is(err, ErrInviteInvalid) {
			t.Errorf("got %v, want ErrInviteInvalid", err)
		}
	})
	t.Run("members cannot invite", func(t *testing.T) {
		if _, err := s.CreateInvite(ctx, member.ID, ""); !errors.Is(err, ErrForbidden) {
			t.Errorf("got %v, want ErrForbidden", err)
		}
	})
	t.Run("an invite works once", func(t *testing.T) {
		inv, err := s.CreateInvite(ctx, steward.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(inv.Token, InvitePrefix) || time.Until(inv.ExpiresAt) < 13*24*time.Hour {
			t.Errorf("got invite %q expiring %s, want nci_… valid 14 days", inv.Token, inv.ExpiresAt)
		}
		if _, err := inviteOnly("invited", inv.Token); err != nil {
			t.Fatalf("got %v, want the invite accepted", err)
		}
		if _, err := inviteOnly("second", inv.Token); !errors.Is(err, ErrInviteInvalid) {
			t.Errorf("got %v on reuse, want ErrInviteInvalid", err)
		}
	})
	t.Run("an invite for one email", func(t *testing.T) {
		inv, err := s.CreateInvite(ctx, steward.ID, "Named@Example.test")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inviteOnly("someone", inv.Token); !errors.Is(err, ErrInviteInvalid) {
			t.Errorf("got %v for another email, want ErrInviteInvalid", err)
		}
		if _, err := inviteOnly("named", inv.Token); err != nil {
			t.Errorf("got %v for the named email, want success", err)
		}
	})
	t.Run("an expired invite", func(t *testing.T) {
		inv, err := s.CreateInvite(ctx, steward.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `UPDATE invites SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, secretHash(inv.Token)); err != nil {
			t.Fatal(err)
		}
		if _, err := inviteOnly("late", inv.Token); !errors.Is(err, ErrInviteInvalid) {
			t.Errorf("got %v, want ErrInviteInvalid", err)
		}
	})
	t.Run("invite with a malformed email", func(t *testing.T) {
		_, err := s.CreateInvite(ctx, steward.ID, "nope")
		acctWantField(t, err, "email")
	})
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	steward := acctSignup(t, s, "ada")
	ben := acctSignup(t, s, "ben")

	t.Run("right password", func(t *testing.T) {
		n, err := s.Authenticate(ctx, " BEN@example.test", acctPassword)
		if err != nil || n.ID != ben.ID {
			t.Errorf("got %v, %v; want node %d", n.ID, err, ben.ID)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		if _, err := s.Authenticate(ctx, "ben@example.test", acctPassword+"x"); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("got %v, want ErrUnauthorized", err)
		}
	})
	t.Run("unknown email", func(t *testing.T) {
		if _, err := s.Authenticate(ctx, "who@example.test", acctPassword); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("got %v, want ErrUnauthorized", err)
		}
	})
	t.Run("node without a password", func(t *testing.T) {
		if _, err := s.pool.Exec(ctx, `INSERT INTO nodes (handle, display_name, email) VALUES ('imported', 'Imported', 'imported@example.test')`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "imported@example.test", ""); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("got %v, want ErrUnauthorized", err)
		}
	})

	t.Run("deactivated node cannot sign in and its token stops working", func(t *testing.T) {
		_, token, err := s.CreateAccessToken(ctx, ben.ID, "cli")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.NodeByAccessToken(ctx, token); err != nil {
			t.Fatalf("got %v before deactivation, want the token to work", err)
		}
		if err := s.Deactivate(ctx, ben.ID, "ada"); !errors.Is(err, ErrForbidden) {
			t.Errorf("member deactivating: got %v, want ErrForbidden", err)
		}
		if err := s.Deactivate(ctx, steward.ID, "ben"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Authenticate(ctx, "ben@example.test", acctPassword); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("sign-in: got %v, want ErrUnauthorized", err)
		}
		if _, _, err := s.NodeByAccessToken(ctx, token); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("token: got %v, want ErrUnauthorized", err)
		}
		if _, _, err := s.CreateAccessToken(ctx, ben.ID, "new"); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("new token: got %v, want ErrUnauthorized", err)
		}
		if err := s.Deactivate(ctx, steward.ID, "ben"); err != nil {
			t.Errorf("deactivating twice: got %v, want no error", err)
		}
	})
	t.Run("a steward cannot deactivate themselves", func(t *testing.T) {
		acctWantField(t, s.Deactivate(ctx, steward.ID, "ada"), "handle")
	})
	t.Run("deactivating an unknown handle", func(t *testing.T) {
		if err := s.Deactivate(ctx, steward.ID, "nobody"); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func TestStewards(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	ada := acctSignup(t, s, "ada")
	ben := acctSignup(t, s, "ben")
	acctSignup(t, s, "cleo")

	if err := s.GrantSteward(ctx, ben.ID, "cleo"); !errors.Is(err, ErrForbidden) {
		t.Errorf("member granting: got %v, want ErrForbidden", err)
	}
	if err := s.GrantSteward(ctx, ada.ID, "@Ben"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.FindNodeByHandle(ctx, "ben"); !n.Steward {
		t.Error("got ben not a steward after the grant")
	}
	if err := s.GrantSteward(ctx, ben.ID, "cleo"); err != nil {
		t.Errorf("new steward granting: got %v, want success", err)
	}
	if err := s.GrantSteward(ctx, ada.ID, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown handle: got %v, want ErrNotFound", err)
	}
}

func TestAccessTokens(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	ada := acctSignup(t, s, "ada")
	ben := acctSignup(t, s, "ben")

	id, token, err := s.CreateAccessToken(ctx, ada.ID, " laptop ")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, AccessTokenPrefix) || len(token) < len(AccessTokenPrefix)+43 {
		t.Errorf("got token %q, want nc_ and at least 32 random bytes", token)
	}
	t.Run("only a hash is stored", func(t *testing.T) {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM access_tokens WHERE position($1::bytea in token_hash) > 0`, []byte(token)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Error("got the token stored in the clear")
		}
	})
	t.Run("resolves to its node and records use", func(t *testing.T) {
		n, gotID, err := s.NodeByAccessToken(ctx, token)
		if err != nil || n.ID != ada.ID || gotID != id {
			t.Fatalf("got node %d token %d err %v, want node %d token %d", n.ID, gotID, err, ada.ID, id)
		}
		list, err := s.ListAccessTokens(ctx, ada.ID)
		if err != nil || len(list) != 1 || list[0].Name != "laptop" || list[0].LastUsedAt == nil {
			t.Errorf("got %+v, %v; want one token named laptop with last_used_at set", list, err)
		}
	})
	t.Run("unknown tokens", func(t *testing.T) {
		for _, bad := range []string{"", "nc_", "nc_nope", "xyz", token + "x"} {
			if _, _, err := s.NodeByAccessToken(ctx, bad); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("token %q: got %v, want ErrUnauthorized", bad, err)
			}
		}
	})
	t.Run("another node cannot revoke it", func(t *testing.T) {
		if err := s.RevokeAccessToken(ctx, ben.ID, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		if err := s.RevokeAccessToken(ctx, ada.ID, id); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.NodeByAccessToken(ctx, token); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("got %v, want ErrUnauthorized", err)
		}
		if err := s.RevokeAccessToken(ctx, ada.ID, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoking twice: got %v, want ErrNotFound", err)
		}
		if list, _ := s.ListAccessTokens(ctx, ada.ID); len(list) != 0 {
			t.Errorf("got %d listed tokens, want the revoked one gone", len(list))
		}
	})
	t.Run("name too long", func(t *testing.T) {
		_, _, err := s.CreateAccessToken(ctx, ada.ID, strings.Repeat("n", 101))
		acctWantField(t, err, "name")
	})
}

// TestClaimImportedNode: a person a steward imported signs up with an invite
// for their email and gets the node the import made, not a second one.
func TestClaimImportedNode(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	steward := acctSignup(t, s, "ada")
	if _, err := s.Import(ctx, ImportInput{
		Nodes: strings.NewReader("id,handle,display_name,email,community\n" +
			"E1,iris,Iris Imported,Iris@Example.test,Research\n" +
			"E2,jon,Jon Imported,jon@example.test,Research\n" +
			"E3,kim,Kim Imported,kim@example.test,\n"),
		Edges: strings.NewReader("E1 E2\n"),
	}); err != nil {
		t.Fatalf("import: %v", err)
	}
	imported := func(handle string) Node {
		t.Helper()
		n, err := s.FindNodeByHandle(ctx, handle)
		if err != nil {
			t.Fatalf("find %s: %v", handle, err)
		}
		return n
	}
	iris := imported("iris")
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := s.pool.QueryRow(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	nodesBefore := count(`SELECT count(*) FROM nodes`)
	invite := func(email string) string {
		t.Helper()
		inv, err := s.CreateInvite(ctx, steward.ID, email)
		if err != nil {
			t.Fatal(err)
		}
		return inv.Token
	}
	wantConflict := func(t *testing.T, err error, field, mention string) {
		t.Helper()
		if !errors.Is(err, ErrConflict) || ConflictField(err) != field {
			t.Fatalf("got %v (field %q), want a conflict on %s", err, ConflictField(err), field)
		}
		if !strings.Contains(err.Error(), mention) {
			t.Errorf("got message %q, want it to mention %q", err.Error(), mention)
		}
	}
	irisInvite := invite("iris@example.test")

	t.Run("open registration without an invite is a conflict on email", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, SignupInput{Email: "iris@example.test", Password: acctPassword, Handle: "iris", DisplayName: "Iris"})
		wantConflict(t, err, "email", "invite")
	})
	t.Run("an invite for anyone does not claim, and stays unused", func(t *testing.T) {
		open := invite("")
		_, err := s.CreateAccount(ctx, SignupInput{Email: "iris@example.test", Password: acctPassword, Handle: "iris", DisplayName: "Iris", Invite: open})
		wantConflict(t, err, "email", "invite")
		if _, err := s.FindInvite(ctx, open); err != nil {
			t.Errorf("got %v, want the invite still usable", err)
		}
	})
	t.Run("an invite for another email does not claim", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, SignupInput{Email: "iris@example.test", Password: acctPassword, Handle: "iris", DisplayName: "Iris",
			Invite: invite("jon@example.test")})
		wantConflict(t, err, "email", "invite")
	})
	t.Run("the invite describes the node to claim", func(t *testing.T) {
		d, err := s.FindInvite(ctx, irisInvite)
		want := InviteDetails{Email: "iris@example.test", Claim: true, Handle: "iris", DisplayName: "Iris Imported"}
		if err != nil || d != want {
			t.Errorf("got %+v, %v; want %+v", d, err, want)
		}
		d, err = s.FindInvite(ctx, invite("new@example.test"))
		if err != nil || d != (InviteDetails{Email: "new@example.test"}) {
			t.Errorf("got %+v, %v for a new person's invite, want only the email", d, err)
		}
		if _, err := s.FindInvite(ctx, "nci_unknown"); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v for an unknown invite, want ErrNotFound", err)
		}
	})
	t.Run("a different handle is a validation error naming the imported one", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, SignupInput{Email: "iris@example.test", Password: acctPassword, Handle: "iris2", DisplayName: "Iris",
			Invite: irisInvite, RequireInvite: true})
		acctWantField(t, err, "handle")
		if err == nil || !strings.Contains(err.Error(), "@iris ") {
			t.Errorf("got %v, want the message to name @iris", err)
		}
		if _, err := s.FindInvite(ctx, irisInvite); err != nil {
			t.Errorf("got %v, want the invite still unused", err)
		}
	})
	t.Run("the invite claims the imported node", func(t *testing.T) {
		n, err := s.CreateAccount(ctx, SignupInput{Email: " IRIS@example.test", Password: acctPassword, DisplayName: "Iris A.",
			Invite: irisInvite, RequireInvite: true})
		if err != nil {
			t.Fatalf("got %v, want the node claimed", err)
		}
		if n.ID != iris.ID || n.Handle != "iris" || n.DisplayName != "Iris A." || n.Email != "iris@example.test" || n.Steward || !n.Active {
			t.Errorf("got %+v, want node %d @iris named Iris A., an active member", n, iris.ID)
		}
		if got := count(`SELECT count(*) FROM nodes`); got != nodesBefore {
			t.Errorf("got %d nodes, want %d: no new node", got, nodesBefore)
		}
		if got := count(`SELECT count(*) FROM nodes WHERE id = $1 AND external_id = 'E1'`, iris.ID); got != 1 {
			t.Error("got the external id changed, want E1 kept")
		}
		if got := count(`SELECT count(*) FROM community_members WHERE node_id = $1`, iris.ID); got != 1 {
			t.Errorf("got %d memberships, want the imported 1", got)
		}
		if got := count(`SELECT count(*) FROM connections WHERE $1 IN (from_node, to_node)`, iris.ID); got != 1 {
			t.Errorf("got %d connections, want the imported 1", got)
		}
		if got := count(`SELECT count(*) FROM invites WHERE token_hash = $1 AND used_by = $2 AND used_at IS NOT NULL`, secretHash(irisInvite), iris.ID); got != 1 {
			t.Error("got the invite not marked used by the claimed node")
		}
		if a, err := s.Authenticate(ctx, "iris@example.test", acctPassword); err != nil || a.ID != iris.ID {
			t.Errorf("sign-in: got %d, %v; want node %d", a.ID, err, iris.ID)
		}
		if _, err := s.FindInvite(ctx, irisInvite); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v for the used invite, want ErrNotFound", err)
		}
	})
	t.Run("a node with a password cannot be claimed", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, SignupInput{Email: "iris@example.test", Password: acctPassword, Handle: "iris", DisplayName: "Thief",
			Invite: invite("iris@example.test")})
		wantConflict(t, err, "email", "sign in")
		if a, err := s.Authenticate(ctx, "iris@example.test", acctPassword); err != nil || a.DisplayName != "Iris A." {
			t.Errorf("got %+v, %v; want the node unchanged", a, err)
		}
	})
	t.Run("with the imported handle and a token", func(t *testing.T) {
		jon := imported("jon")
		n, token, err := s.CreateAccountWithToken(ctx, SignupInput{Email: "jon@example.test", Password: acctPassword, Handle: "Jon",
			DisplayName: "Jon", Invite: invite("jon@example.test"), RequireInvite: true}, "cli")
		if err != nil || n.ID != jon.ID {
			t.Fatalf("got %d, %v; want node %d claimed", n.ID, err, jon.ID)
		}
		if got, _, err := s.NodeByAccessToken(ctx, token); err != nil || got.ID != jon.ID {
			t.Errorf("token: got %d, %v; want node %d", got.ID, err, jon.ID)
		}
	})
	t.Run("a deactivated imported node cannot be claimed", func(t *testing.T) {
		if err := s.Deactivate(ctx, steward.ID, "kim"); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateAccount(ctx, SignupInput{Email: "kim@example.test", Password: acctPassword, Handle: "kim", DisplayName: "Kim",
			Invite: invite("kim@example.test")})
		wantConflict(t, err, "email", "deactivated")
	})
	t.Run("a new node still needs a handle", func(t *testing.T) {
		_, err := s.CreateAccount(ctx, SignupInput{Email: "new@example.test", Password: acctPassword, DisplayName: "New"})
		acctWantField(t, err, "handle")
	})
}
