package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/metrics"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

// The per-account sign-in delay (community.Store.SignIn) counts the failures
// this log holds; these tests write backdated failures to test it without
// waiting.

func passwordChecks(t *testing.T) float64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.PasswordChecks.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestSigninDelay(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {9, 0}, {10, time.Second}, {11, 2 * time.Second}, {13, 8 * time.Second},
		{19, 512 * time.Second}, {20, community.SigninMaxDelay}, {40, community.SigninMaxDelay}, {1 << 20, community.SigninMaxDelay},
	} {
		if got := community.SigninDelay(tc.failures); got != tc.want {
			t.Errorf("SigninDelay(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}

func TestSignInProgressiveDelay(t *testing.T) {
	ctx := audit.WithAddress(context.Background(), "192.0.2.10")
	pool := testenv.Pool(t, testenv.DatabaseURL(t))
	s := community.NewStore(pool)
	const password = "a long and unusual passphrase"
	ana, err := s.CreateAccount(ctx, community.SignupInput{Email: "ana@example.test", Password: password, Handle: "ana", DisplayName: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	account := community.SigninAccount(" ANA@example.test ")
	// failures writes n failed sign-ins of account, ago before now.
	failures := func(t *testing.T, account string, n int, ago time.Duration) {
		t.Helper()
		for range n {
			if _, err := pool.Exec(ctx, `INSERT INTO audit_log (action, detail, at) VALUES ('signin_failed', jsonb_build_object('account', $1::text), now() - $2::interval)`,
				account, ago); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("a wrong password is a recorded failure", func(t *testing.T) {
		before := passwordChecks(t)
		if _, err := s.SignIn(ctx, "ana@example.test", "wrong"+password); !errors.Is(err, community.ErrUnauthorized) {
			t.Fatalf("got %v, want ErrUnauthorized", err)
		}
		if got := passwordChecks(t) - before; got != 1 {
			t.Errorf("got %v password checks, want 1", got)
		}
		p, err := audit.NewStore(pool).List(ctx, audit.Filter{Action: audit.ActionSigninFailed})
		if err != nil || len(p.Entries) != 1 {
			t.Fatalf("got %+v, %v; want one failure row", p, err)
		}
		if e := p.Entries[0]; e.ActorID != ana.ID || e.Address != "192.0.2.10" || !strings.Contains(string(e.Detail), account) {
			t.Errorf("got %+v, want ana's account hash from 192.0.2.10", e)
		}
	})
	t.Run("a success resets the count", func(t *testing.T) {
		failures(t, account, 8, time.Second) // 9 with the one above: no delay yet
		if _, err := s.SignIn(ctx, "ana@example.test", password); err != nil {
			t.Fatalf("right password after 9 failures: %v, want signed in", err)
		}
		failures(t, account, 9, 0)
		if _, err := s.SignIn(ctx, "ana@example.test", password); err != nil {
			t.Fatalf("after a success, 9 more failures: %v, want signed in (18 without the reset)", err)
		}
	})
	t.Run("while the delay runs the password is not checked", func(t *testing.T) {
		failures(t, account, 12, 0) // 2^2 = 4 s
		before := passwordChecks(t)
		_, err := s.SignIn(ctx, "ana@example.test", password)
		var th *community.ThrottledError
		if !errors.As(err, &th) || !errors.Is(err, community.ErrThrottled) {
			t.Fatalf("got %v, want a ThrottledError", err)
		}
		if th.RetryAfter <= 2*time.Second || th.RetryAfter > 4*time.Second {
			t.Errorf("got RetryAfter %v, want about 4 s", th.RetryAfter)
		}
		if got := passwordChecks(t) - before; got != 0 {
			t.Errorf("got %v password checks while delayed, want 0", got)
		}
		p, _ := audit.NewStore(pool).List(ctx, audit.Filter{Action: audit.ActionSigninDelayed})
		if len(p.Entries) != 1 {
			t.Errorf("got %d signin_delayed rows, want 1", len(p.Entries))
		}
	})
	t.Run("the delay is capped at 15 minutes", func(t *testing.T) {
		bob := community.SigninAccount("bob@example.test")
		failures(t, bob, 50, 0)
		_, err := s.SignIn(ctx, "bob@example.test", password)
		var th *community.ThrottledError
		if !errors.As(err, &th) || th.RetryAfter > community.SigninMaxDelay || th.RetryAfter < community.SigninMaxDelay-time.Minute {
			t.Errorf("got %v, want a delay of about 15 minutes", err)
		}
	})
	t.Run("failures older than the window do not count", func(t *testing.T) {
		cleo := community.SigninAccount("cleo@example.test")
		failures(t, cleo, 30, community.SigninFailureWindow+time.Minute)
		before := passwordChecks(t)
		if _, err := s.SignIn(ctx, "cleo@example.test", password); !errors.Is(err, community.ErrUnauthorized) {
			t.Errorf("got %v, want ErrUnauthorized (unknown email, checked)", err)
		}
		if got := passwordChecks(t) - before; got != 1 {
			t.Errorf("got %v password checks, want 1", got)
		}
	})
	t.Run("after the delay the right password works", func(t *testing.T) {
		if _, err := s.CreateAccount(ctx, community.SignupInput{Email: "dan@example.test", Password: password, Handle: "dan", DisplayName: "Dan"}); err != nil {
			t.Fatal(err)
		}
		failures(t, community.SigninAccount("dan@example.test"), 11, 3*time.Second) // 2 s delay, passed
		if _, err := s.SignIn(ctx, "dan@example.test", password); err != nil {
			t.Errorf("got %v, want signed in after the delay", err)
		}
	})
}
