package community

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/metrics"
)

// Account errors the web layer tells apart from a plain ErrForbidden.
var (
	// ErrInviteRequired: registration is by invite only and none was given.
	ErrInviteRequired = fmt.Errorf("registration is by invite only: %w", ErrForbidden)
	// ErrInviteInvalid: the invite is unknown, used, expired or for another email.
	ErrInviteInvalid = fmt.Errorf("invite unknown, used or expired: %w", ErrForbidden)
)

// Token prefixes make leaked secrets recognisable (to people and secret scanners).
const (
	AccessTokenPrefix = "nc_"
	InvitePrefix      = "nci_"
	// InviteValidity is how long an invite can be used.
	InviteValidity = 14 * 24 * time.Hour
	// tokenBytes of randomness in every access token and invite.
	tokenBytes = 32
	// tokenTouchEvery limits last_used_at writes to one a minute per token.
	tokenTouchEvery = time.Minute
)

// SignupInput is what a person gives to create an account.
type SignupInput struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	// Handle is required for a new node. A person claiming the node a steward
	// imported for them may leave it empty, or give the handle they have.
	Handle      string `json:"handle"`
	DisplayName string `json:"display_name"`
	Invite      string `json:"invite,omitempty"` // an invite token (nci_…)
	// RequireInvite is the organisation's policy (REGISTRATION=invite), set by
	// the caller, never by the person signing up.
	RequireInvite bool `json:"-"`
	// BannedWords is PASSWORD_BANNED_WORDS, also set by the caller.
	BannedWords []string `json:"-"`
}

// normalise trims the input and lower-cases what is case-insensitive, then
// validates it, naming the first wrong field.
func (in *SignupInput) normalise() error {
	in.Email = strings.ToLower(strings.TrimSpace(in.Email))
	in.Handle = strings.ToLower(strings.TrimSpace(in.Handle))
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	in.Invite = strings.TrimSpace(in.Invite)
	if err := validateEmail("email", in.Email); err != nil {
		return err
	}
	// An empty handle is checked once it is known whether the sign-up claims an
	// imported node (which has one) or creates a new one (which needs one).
	if in.Handle != "" && !ValidHandle(in.Handle) {
		return invalid("handle", "Use 2–32 lowercase letters, digits, '-' or '_', starting with a letter or digit.")
	}
	if err := validateDisplayName(in.DisplayName); err != nil {
		return err
	}
	return ValidateNewPassword(in.Password, in.BannedWords, in.Handle, emailName(in.Email))
}

func validateEmail(field, email string) error {
	if email == "" {
		return invalid(field, "Enter your email address.")
	}
	// mail.ParseAddress also accepts "Name <a@b>"; only a bare address that
	// round-trips unchanged is taken.
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email[strings.LastIndexByte(email, '@')+1:], ".") {
		return invalid(field, "Enter an email address like name@example.org.")
	}
	return nil
}

func validateDisplayName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 100 {
		return invalid("display_name", "Use 1–100 characters.")
	}
	return nil
}

// signupLock serialises account creation, so that "the first node becomes
// steward" and the invite-only bootstrap hold under concurrent sign-ups.
const signupLock = `SELECT pg_advisory_xact_lock(hashtext('nodecommunity.signup'))`

const signupInsert = `
INSERT INTO nodes AS n (handle, display_name, email, password_hash, steward)
VALUES ($1, $2, $3, $4, NOT EXISTS (SELECT 1 FROM nodes WHERE steward))
RETURNING ` + nodeColumns

// signupClaim gives an imported node (no password yet) its password and the
// name its person chose; its id, handle, external id, memberships and
// connections stay as the import made them.
const signupClaim = `
UPDATE nodes AS n SET password_hash = $2, display_name = $3
WHERE n.id = $1 AND n.password_hash IS NULL
RETURNING ` + nodeColumns

// CreateAccount creates a node that can sign in. The first node to sign up in
// an organisation with no steward becomes its steward. When in.RequireInvite is
// set, a valid invite is needed, except for that first steward: someone has to
// be able to create the first invite.
//
// When in.Email is that of a person a steward imported (a node without a
// password), the sign-up claims that node instead of creating one, but only
// with an unused invite made for that email: without it anyone could take over
// someone else's imported identity. The handle then is the imported one; a
// different one is a validation error on "handle".
func (s *Store) CreateAccount(ctx context.Context, in SignupInput) (Node, error) {
	n, _, err := s.createAccount(ctx, in, "", false)
	return n, err
}

// CreateAccountWithToken is CreateAccount plus a first access token for the API
// client that signed up, created in the same transaction: either both exist or
// neither does.
func (s *Store) CreateAccountWithToken(ctx context.Context, in SignupInput, tokenName string) (Node, string, error) {
	return s.createAccount(ctx, in, tokenName, true)
}

func (s *Store) createAccount(ctx context.Context, in SignupInput, tokenName string, withToken bool) (Node, string, error) {
	if err := in.normalise(); err != nil {
		return Node{}, "", err
	}
	// Hash before the transaction: it takes tens of milliseconds and needs no lock.
	hash, err := HashPassword(ctx, in.Password)
	if err != nil {
		return Node{}, "", err
	}
	var (
		n     Node
		token string
	)
	if withToken {
		if token, err = newSecret(AccessTokenPrefix); err != nil {
			return Node{}, "", fmt.Errorf("create account: %w", err)
		}
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, signupLock); err != nil {
			return err
		}
		var (
			inviteID int64
			email    *string // the invite's email, nil for an invite for anyone
		)
		if in.Invite != "" {
			err := tx.QueryRow(ctx, `
				SELECT id, email FROM invites
				WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now() FOR UPDATE`,
				secretHash(in.Invite)).Scan(&inviteID, &email)
			switch {
			case errors.Is(err, pgx.ErrNoRows), err == nil && email != nil && *email != in.Email:
				inviteID, email = 0, nil
				if in.RequireInvite {
					return ErrInviteInvalid
				}
				// Open registration: an unusable invite is simply not needed.
			case err != nil:
				return err
			}
		}
		if in.RequireInvite && inviteID == 0 {
			var hasSteward bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nodes WHERE steward)`).Scan(&hasSteward); err != nil {
				return err
			}
			if hasSteward {
				return ErrInviteRequired
			}
		}
		claim, err := claimableNode(ctx, tx, in, inviteID != 0 && email != nil)
		if err != nil {
			return err
		}
		switch {
		case claim != 0:
			n, err = scanNode(tx.QueryRow(ctx, signupClaim, claim, hash, in.DisplayName))
		case in.Handle == "":
			return invalid("handle", "Choose a handle: people mention you as @handle.")
		default:
			n, err = scanNode(tx.QueryRow(ctx, signupInsert, in.Handle, in.DisplayName, in.Email, hash))
		}
		if err != nil {
			return accountConflict(err)
		}
		if inviteID != 0 {
			if _, err := tx.Exec(ctx, `UPDATE invites SET used_by = $2, used_at = now() WHERE id = $1`, inviteID, n.ID); err != nil {
				return err
			}
		}
		if withToken {
			if _, err := tx.Exec(ctx, `INSERT INTO access_tokens (node_id, name, token_hash) VALUES ($1, $2, $3)`,
				n.ID, tokenName, secretHash(token)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Node{}, "", wrap("create account", err)
	}
	return n, token, nil
}

// claimableNode finds the node a sign-up for in.Email must claim rather than
// duplicate: it returns 0 when no node has that email (create a new one), the
// node's id when it is an active imported node without a password and the
// sign-up holds an invite for that very email (emailInvite), and otherwise an
// error saying why the email cannot be used. The row is locked until commit.
func claimableNode(ctx context.Context, tx pgx.Tx, in SignupInput, emailInvite bool) (int64, error) {
	var (
		id                  int64
		handle              string
		hasPassword, active bool
	)
	err := tx.QueryRow(ctx, `
		SELECT id, handle, password_hash IS NOT NULL, deactivated_at IS NULL FROM nodes
		WHERE email = $1 FOR UPDATE`, in.Email).Scan(&id, &handle, &hasPassword, &active)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, err
	case hasPassword:
		return 0, Conflict("email", "An account with this email exists already; sign in instead.")
	case !active:
		return 0, Conflict("email", "The node with this email is deactivated; ask a steward.")
	case !emailInvite:
		// Someone imported this person; only the invite a steward makes for
		// this email proves the sign-up is theirs.
		return 0, Conflict("email", "A steward has already added you to the network with this email: ask a steward for an invite for this email address to claim your node.")
	case in.Handle != "" && in.Handle != handle:
		return 0, invalid("handle", "You are in the network as @%s already: keep that handle (or leave the field empty).", handle)
	}
	return id, nil
}

// accountConflict turns a unique violation on nodes into a Conflict naming the field.
func accountConflict(err error) error {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "23505" {
		return err
	}
	switch pg.ConstraintName {
	case "nodes_handle_key":
		return Conflict("handle", "This handle is taken; choose another.")
	case "nodes_email_key":
		return Conflict("email", "An account with this email exists already; sign in instead.")
	}
	return Conflict("", "That account exists already.")
}

// Authenticate checks an email and password. A wrong email, a wrong password, a
// node without a password (imported, not yet signed up) and a deactivated node
// all give ErrUnauthorized, after the same amount of hashing work. It applies
// no limits and writes no audit row: sign-in forms and the API use SignIn.
func (s *Store) Authenticate(ctx context.Context, email, password string) (Node, error) {
	n, _, err := s.authenticate(ctx, email, password)
	return n, err
}

// authenticate is Authenticate that also returns, on ErrUnauthorized, the id of
// the node the email belongs to (0 when none), for the audit log.
func (s *Store) authenticate(ctx context.Context, email, password string) (Node, int64, error) {
	email = normaliseEmail(email)
	var hash *string
	n, err := scanNodeAnd(s.pool.QueryRow(ctx, `SELECT `+nodeColumns+`, n.password_hash FROM nodes n WHERE n.email = $1`, email),
		&hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Node{}, 0, fmt.Errorf("authenticate: %w", err)
	}
	known := n.ID
	if utf8.RuneCountInString(password) > PasswordMaxLen {
		return Node{}, known, ErrUnauthorized // no account has such a password; do not spend CPU on it
	}
	encoded := ""
	if hash != nil {
		encoded = *hash
	}
	if encoded == "" {
		if encoded, err = dummyHash(); err != nil {
			return Node{}, known, fmt.Errorf("authenticate: %w", err)
		}
	}
	metrics.PasswordChecks.Inc()
	ok, err := checkPassword(ctx, encoded, password)
	if err != nil {
		return Node{}, known, fmt.Errorf("authenticate: %w", err)
	}
	if !ok || hash == nil || !n.Active {
		return Node{}, known, ErrUnauthorized
	}
	// The password is at hand only now: a hash made with older parameters
	// is upgraded while it is.
	if needsRehash(encoded) {
		s.rehash(ctx, n.ID, encoded, password)
	}
	return n, known, nil
}

func normaliseEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// Sign-in limits per account. An account is an email address, known or not,
// so that the limits do not tell who has an account. After SigninFreeFailures
// failed sign-ins within SigninFailureWindow (and since the last success), each
// further attempt waits SigninDelay after the latest failure: 1 s, 2 s, 4 s …
// up to SigninMaxDelay. A delay, never a lockout: anyone can make an account's
// sign-ins fail, so a lockout would be a way to shut its owner out; a delay only
// makes guessing slow, and the right password after the delay works.
const (
	SigninFailureWindow = 15 * time.Minute
	SigninFreeFailures  = 10
	SigninMaxDelay      = 15 * time.Minute
)

// signinLocks serialises the password sign-ins of each account in this
// process (see SignIn). An entry lives while an attempt holds or waits for it;
// the waiting is bounded by the per-address limit in front of sign-in.
var signinLocks = struct {
	sync.Mutex
	m map[string]*signinLock
}{m: map[string]*signinLock{}}

type signinLock struct {
	held chan struct{} // a token in the channel: an attempt is being checked
	refs int           // attempts holding or waiting
}

// lockAccount waits until no other attempt on account is being checked in
// this process, or ctx ends.
func lockAccount(ctx context.Context, account string) (unlock func(), err error) {
	signinLocks.Lock()
	l := signinLocks.m[account]
	if l == nil {
		l = &signinLock{held: make(chan struct{}, 1)}
		signinLocks.m[account] = l
	}
	l.refs++
	signinLocks.Unlock()
	release := func() {
		signinLocks.Lock()
		defer signinLocks.Unlock()
		if l.refs--; l.refs == 0 {
			delete(signinLocks.m, account)
		}
	}
	select {
	case l.held <- struct{}{}:
		return func() { <-l.held; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}

// ErrThrottled is matched by a *ThrottledError.
var ErrThrottled = errors.New("too many failed sign-ins")

// ThrottledError refuses a sign-in, unchecked, until RetryAfter has passed.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins for this account: try again in %s", e.RetryAfter.Round(time.Second))
}

func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// SigninDelay is how long after its latest failure an account with failures
// recent failures must wait before the next attempt is checked.
func SigninDelay(failures int) time.Duration {
	if failures < SigninFreeFailures {
		return 0
	}
	exp := failures - SigninFreeFailures
	if exp >= 20 { // 2^20 s is far past the cap; and no shift overflows
		return SigninMaxDelay
	}
	return min(time.Duration(1<<exp)*time.Second, SigninMaxDelay)
}

// SigninAccount is how the audit log names the account of a sign-in attempt:
// a SHA-256 of the normalised email, so attempts on one address are counted
// together without the log holding every address anyone typed.
func SigninAccount(email string) string {
	h := sha256.Sum256([]byte(normaliseEmail(email)))
	return hex.EncodeToString(h[:])
}

// SignIn is a password sign-in under the per-account limits: while the
// account's delay runs it returns a *ThrottledError without checking the
// password (the hash is the expensive part an attacker wants us to do);
// otherwise it checks like Authenticate. Every outcome is written to the audit
// log with the address on ctx (audit.WithAddress), and the failures written
// there are what the delay counts, on every instance alike.
func (s *Store) SignIn(ctx context.Context, email, password string) (Node, error) {
	account := SigninAccount(email)
	// Counting the failures and recording a new one are two statements, so
	// concurrent attempts could all pass the count before any is recorded.
	// The attempts on one account are therefore checked one at a time in this
	// process, each counting the failures of those before it; across
	// instances, a delay's end lets at most one attempt through per instance.
	unlock, err := lockAccount(ctx, account)
	if err != nil {
		return Node{}, &ThrottledError{RetryAfter: time.Second} // gave up waiting: the client may try again
	}
	defer unlock()
	log := audit.NewStore(s.pool)
	failures, wait, err := accountDelay(ctx, log, account)
	if err != nil {
		return Node{}, fmt.Errorf("sign in: %w", err)
	}
	if wait > 0 {
		if err := log.Add(ctx, audit.Record{Action: audit.ActionSigninDelayed, Detail: map[string]any{
			"account": account, "failures": failures, "retry_after_s": math.Ceil(wait.Seconds()),
		}}); err != nil {
			return Node{}, fmt.Errorf("sign in: %w", err)
		}
		return Node{}, &ThrottledError{RetryAfter: wait}
	}
	n, known, err := s.authenticate(ctx, email, password)
	switch {
	case errors.Is(err, ErrUnauthorized):
		// The actor of a failure is the account tried, when it exists.
		if err := log.Add(ctx, audit.Record{Actor: known, Action: audit.ActionSigninFailed, Detail: map[string]any{
			"account": account, "failures": failures + 1,
		}}); err != nil {
			return Node{}, fmt.Errorf("sign in: %w", err)
		}
		return Node{}, ErrUnauthorized
	case err != nil:
		return Node{}, err
	}
	if err := log.Add(ctx, audit.Record{Actor: n.ID, Action: audit.ActionSignin, Detail: map[string]any{"account": account}}); err != nil {
		return Node{}, fmt.Errorf("sign in: %w", err)
	}
	return n, nil
}

// accountDelay is the account's recent sign-in failures (from the audit log,
// so every instance counts alike) and how long its progressive delay still
// runs (0: an attempt may be checked now).
func accountDelay(ctx context.Context, log *audit.Store, account string) (failures int, wait time.Duration, err error) {
	failures, last, now, err := log.SigninFailures(ctx, account, SigninFailureWindow)
	if err != nil {
		return 0, 0, err
	}
	if w := last.Add(SigninDelay(failures)).Sub(now); failures >= SigninFreeFailures && w > 0 {
		wait = w
	}
	return failures, wait, nil
}

// AttemptCounter counts attempts per key (say, a client address) in fixed time
// windows in PostgreSQL, so that every instance sees the same count. Its
// methods are go-chi/httprate's LimitCounter, which has no context: each call
// gets its own short deadline. Keys are stored hashed with the counter's name.
type AttemptCounter struct {
	pool   *pgxpool.Pool
	name   string
	window atomic.Int64 // time.Duration, set by Config
	swept  atomic.Int64 // unix nanoseconds of the last sweep of expired windows
}

// attemptTimeout bounds each counter query: a limiter that cannot count
// answers with an error rather than holding the request.
const attemptTimeout = 2 * time.Second

// NewAttemptCounter returns a counter; name separates limiters sharing the table.
func (s *Store) NewAttemptCounter(name string) *AttemptCounter {
	c := &AttemptCounter{pool: s.pool, name: name}
	c.window.Store(int64(time.Minute))
	return c
}

// Config sets the window length (the limit is the limiter's business).
func (c *AttemptCounter) Config(_ int, window time.Duration) { c.window.Store(int64(window)) }

func (c *AttemptCounter) key(key string) []byte {
	h := sha256.Sum256([]byte(c.name + "\x00" + key))
	return h[:]
}

// Increment counts one attempt of key in the window starting at window.
func (c *AttemptCounter) Increment(key string, window time.Time) error {
	return c.IncrementBy(key, window, 1)
}

// IncrementBy counts amount attempts of key in the window starting at window.
func (c *AttemptCounter) IncrementBy(key string, window time.Time, amount int) error {
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	length := time.Duration(c.window.Load())
	if _, err := c.pool.Exec(ctx, `
		INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + EXCLUDED.count`,
		c.key(key), window.UTC(), amount, window.Add(2*length).UTC()); err != nil {
		return fmt.Errorf("count attempt: %w", err)
	}
	// Windows older than the previous one are never read again: sweep them at
	// most once a window per instance, on the back of a write.
	now := time.Now().UnixNano()
	last := c.swept.Load()
	if now-last >= int64(length) && c.swept.CompareAndSwap(last, now) {
		if _, err := c.pool.Exec(ctx, `DELETE FROM rate_counters WHERE expires_at < now()`); err != nil {
			return fmt.Errorf("sweep attempt counts: %w", err)
		}
	}
	return nil
}

// Get returns the counts of key in the current and the previous window.
func (c *AttemptCounter) Get(key string, current, previous time.Time) (int, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
	defer cancel()
	var cur, prev int
	err := c.pool.QueryRow(ctx, `
		SELECT coalesce(sum(count) FILTER (WHERE window_start = $2), 0),
		       coalesce(sum(count) FILTER (WHERE window_start = $3), 0)
		FROM rate_counters WHERE key = $1 AND window_start IN ($2, $3)`,
		c.key(key), current.UTC(), previous.UTC()).Scan(&cur, &prev)
	if err != nil {
		return 0, 0, fmt.Errorf("read attempt counts: %w", err)
	}
	return cur, prev, nil
}

// SessionEpoch is the node's session epoch. A browser session records it at
// sign-in and stays valid only while it is unchanged: EndSessions and
// deactivation raise it, which ends every session on every instance at once.
func (s *Store) SessionEpoch(ctx context.Context, nodeID int64) (int64, error) {
	var epoch int64
	err := s.pool.QueryRow(ctx, `SELECT session_epoch FROM nodes WHERE id = $1`, nodeID).Scan(&epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("session epoch: %w", err)
	}
	return epoch, nil
}

// SessionNode resolves a browser session to its node: ErrUnauthorized when the
// node is gone or deactivated, or its sessions were ended after this one began
// (its epoch is not the node's).
func (s *Store) SessionNode(ctx context.Context, nodeID, epoch int64) (Node, error) {
	var current int64
	n, err := scanNodeAnd(s.pool.QueryRow(ctx, `SELECT `+nodeColumns+`, n.session_epoch FROM nodes n WHERE n.id = $1`, nodeID), &current)
	switch {
	case errors.Is(err, ErrNotFound):
		return Node{}, ErrUnauthorized
	case err != nil:
		return Node{}, fmt.Errorf("session node: %w", err)
	case !n.Active || current != epoch:
		return Node{}, ErrUnauthorized
	}
	return n, nil
}

// endSessions raises the epoch of the node $1, deletes its session rows and
// revokes its access tokens, in one statement.
const endSessions = `
WITH e AS (UPDATE nodes SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING id),
     d AS (DELETE FROM sessions WHERE node_id IN (SELECT id FROM e))
UPDATE access_tokens SET revoked_at = now() WHERE node_id IN (SELECT id FROM e) AND revoked_at IS NULL`

// EndSessions signs the node out everywhere: every browser session ends and
// every access token is revoked, and the audit log says so, in one
// transaction. Instances learn it from the database on the next request; the
// caller tells them at once (live streams, token caches) over NATS.
func (s *Store) EndSessions(ctx context.Context, nodeID int64) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, endSessions, nodeID); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Record{Actor: nodeID, Action: audit.ActionSignoutEverywhere})
	})
	if err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	s.changedCredentials(nodeID)
	return nil
}

// scanNodeAnd is scanNode for a select list of nodeColumns followed by more
// columns, scanned into more; it reuses scanNode so the two cannot drift apart.
func scanNodeAnd(row pgx.Row, more ...any) (Node, error) {
	return scanNode(rowAnd{row, more})
}

type rowAnd struct {
	pgx.Row
	more []any
}

func (r rowAnd) Scan(dst ...any) error { return r.Row.Scan(append(dst, r.more...)...) }

// newSecret returns a random token with a prefix, URL-safe.
func newSecret(prefix string) (string, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// secretHash is how tokens and invites are stored: a leaked table grants nothing.
// SHA-256 suffices (no salt, no stretching) because the secrets are 256 random bits.
func secretHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// AccessToken describes a personal access token; the secret itself is shown
// once, when it is created, and never stored.
type AccessToken struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// CreateAccessToken makes a new personal access token for an API client and
// returns its id and the secret.
func (s *Store) CreateAccessToken(ctx context.Context, nodeID int64, name string) (int64, string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 100 {
		return 0, "", invalid("name", "Use at most 100 characters.")
	}
	token, err := newSecret(AccessTokenPrefix)
	if err != nil {
		return 0, "", fmt.Errorf("create access token: %w", err)
	}
	var id int64
	err = s.pool.QueryRow(ctx, `
		INSERT INTO access_tokens (node_id, name, token_hash)
		SELECT id, $2, $3 FROM nodes WHERE id = $1 AND deactivated_at IS NULL
		RETURNING id`, nodeID, name, secretHash(token)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", ErrUnauthorized
	}
	if err != nil {
		return 0, "", fmt.Errorf("create access token: %w", err)
	}
	return id, token, nil
}

// NodeByAccessToken resolves a bearer token to its node. Unknown and revoked
// tokens, and tokens of deactivated nodes, give ErrUnauthorized.
func (s *Store) NodeByAccessToken(ctx context.Context, token string) (Node, int64, error) {
	if !strings.HasPrefix(token, AccessTokenPrefix) || len(token) > 100 {
		return Node{}, 0, ErrUnauthorized
	}
	var (
		id       int64
		lastUsed *time.Time
	)
	n, err := scanNodeAnd(s.pool.QueryRow(ctx, `
		SELECT `+nodeColumns+`, t.id, t.last_used_at
		FROM access_tokens t JOIN nodes n ON n.id = t.node_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`, secretHash(token)), &id, &lastUsed)
	if errors.Is(err, ErrNotFound) {
		return Node{}, 0, ErrUnauthorized
	}
	if err != nil {
		return Node{}, 0, fmt.Errorf("access token: %w", err)
	}
	if !n.Active {
		return Node{}, 0, ErrUnauthorized
	}
	// A busy client would otherwise write this row on every request. The
	// time is a hint for its owner, so the request does not wait for the disk
	// (as publish marks): a crash may lose a touch, never the token. Waiting
	// put a log flush, and any checkpoint's I/O, in the first request of
	// every client.
	if lastUsed == nil || time.Since(*lastUsed) > tokenTouchEvery {
		if err := s.execUnsynced(ctx, `UPDATE access_tokens SET last_used_at = now()
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - $2::interval)`, id, tokenTouchEvery); err != nil {
			return Node{}, 0, fmt.Errorf("access token: %w", err)
		}
	}
	return n, id, nil
}

// RevokeAccessToken ends one of the node's own tokens; another node's token, or
// one already revoked, is ErrNotFound.
func (s *Store) RevokeAccessToken(ctx context.Context, nodeID, tokenID int64) error {
	tag, err := s.pool.Exec(ctx, `
		UPDATE access_tokens SET revoked_at = now()
		WHERE id = $1 AND node_id = $2 AND revoked_at IS NULL`, tokenID, nodeID)
	if err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	s.changedCredentials(nodeID)
	return nil
}

// ListAccessTokens lists the node's tokens that still work, newest first.
func (s *Store) ListAccessTokens(ctx context.Context, nodeID int64) ([]AccessToken, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT id, name, created_at, last_used_at FROM access_tokens
		WHERE node_id = $1 AND revoked_at IS NULL ORDER BY id DESC`, nodeID)
	if err != nil {
		return nil, fmt.Errorf("list access tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[AccessToken])
	if err != nil {
		return nil, fmt.Errorf("list access tokens: %w", err)
	}
	return out, nil
}

// Invite is a single-use invitation to sign up.
type Invite struct {
	Token     string    `json:"token"` // the secret; only a hash is stored
	Email     string    `json:"email,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
}

// stewardCheck names an active steward; statements add it to a WHERE clause so
// the check and the change happen in one statement.
const stewardCheck = `EXISTS (SELECT 1 FROM nodes WHERE id = $1 AND steward AND deactivated_at IS NULL)`

// CreateInvite makes an invite valid for InviteValidity, optionally bound to one
// email address. Only stewards may invite.
func (s *Store) CreateInvite(ctx context.Context, by int64, email string) (Invite, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if email != "" {
		if err := validateEmail("email", email); err != nil {
			return Invite{}, err
		}
	}
	token, err := newSecret(InvitePrefix)
	if err != nil {
		return Invite{}, fmt.Errorf("create invite: %w", err)
	}
	inv := Invite{Token: token, Email: email}
	err = s.pool.QueryRow(ctx, `
		INSERT INTO invites (token_hash, created_by, email, expires_at)
		SELECT $2, $1, nullif($3, ''), now() + $4::interval WHERE `+stewardCheck+`
		RETURNING expires_at`, by, secretHash(token), email, InviteValidity).Scan(&inv.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Invite{}, ErrForbidden
	}
	if err != nil {
		return Invite{}, fmt.Errorf("create invite: %w", err)
	}
	return inv, nil
}

// InviteDetails is what a usable invite tells the sign-up page, so it can fill
// in the form before the person has an account.
type InviteDetails struct {
	Email string // the email the invite is for; "" when it is for anyone
	// Claim is set when Email belongs to a person a steward imported who has
	// not signed up yet: signing up with the invite makes that node theirs.
	Claim       bool
	Handle      string // the imported handle, when Claim
	DisplayName string // the imported name, when Claim
}

// FindInvite describes an unused, unexpired invite; any other token is
// ErrNotFound. Only the invite's holder learns the imported person's handle and
// name, which every member can see anyway.
func (s *Store) FindInvite(ctx context.Context, token string) (InviteDetails, error) {
	token = strings.TrimSpace(token)
	var d InviteDetails
	if !strings.HasPrefix(token, InvitePrefix) || len(token) > 100 {
		return d, ErrNotFound
	}
	err := s.pool.QueryRow(ctx, `
		SELECT coalesce(i.email, ''), n.id IS NOT NULL, coalesce(n.handle, ''), coalesce(n.display_name, '')
		FROM invites i
		LEFT JOIN nodes n ON n.email = i.email AND n.password_hash IS NULL AND n.deactivated_at IS NULL
		WHERE i.token_hash = $1 AND i.used_at IS NULL AND i.expires_at > now()`,
		secretHash(token)).Scan(&d.Email, &d.Claim, &d.Handle, &d.DisplayName)
	if errors.Is(err, pgx.ErrNoRows) {
		return InviteDetails{}, ErrNotFound
	}
	if err != nil {
		return InviteDetails{}, fmt.Errorf("find invite: %w", err)
	}
	return d, nil
}

// GrantSteward makes the node with handle a steward. Only stewards may; it
// gives no extra reach in the network, only the care duties (invites,
// deactivation, granting).
func (s *Store) GrantSteward(ctx context.Context, by int64, handle string) error {
	return s.stewardAction(ctx, "grant steward", audit.ActionGrantSteward, by, handle, `UPDATE nodes SET steward = true WHERE id = $1`, false)
}

// Deactivate ends a node's access: it can no longer sign in, its browser
// sessions are deleted (and their epoch raised, so none resolves again on any
// instance) and its access tokens are revoked. Its contributions stay. Only
// stewards may, and not on themselves (so one active steward always remains).
func (s *Store) Deactivate(ctx context.Context, by int64, handle string) error {
	return s.stewardAction(ctx, "deactivate", audit.ActionDeactivate, by, handle, `
		WITH d AS (UPDATE nodes SET deactivated_at = coalesce(deactivated_at, now()), session_epoch = session_epoch + 1
		           WHERE id = $1 RETURNING id),
		     x AS (DELETE FROM sessions WHERE node_id IN (SELECT id FROM d))
		UPDATE access_tokens SET revoked_at = now() WHERE node_id IN (SELECT id FROM d) AND revoked_at IS NULL`, true)
}

// stewardAction runs change ($1 = the target node) after
// checking, in the same transaction, that by is an active steward and the
// target exists, and writes the audit row (action) in that transaction too.
func (s *Store) stewardAction(ctx context.Context, op, action string, by int64, handle, change string, notSelf bool) error {
	handle = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(handle), "@"))
	var target int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var isSteward bool
		if err := tx.QueryRow(ctx, `SELECT `+stewardCheck, by).Scan(&isSteward); err != nil {
			return err
		}
		if !isSteward {
			return ErrForbidden
		}
		var active bool
		err := tx.QueryRow(ctx, `SELECT id, deactivated_at IS NULL FROM nodes WHERE handle = $1 FOR UPDATE`, handle).Scan(&target, &active)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if notSelf && target == by {
			return invalid("handle", "You cannot deactivate yourself; ask another steward.")
		}
		if !notSelf && !active {
			return invalid("handle", "@%s is deactivated.", handle)
		}
		if _, err := tx.Exec(ctx, change, target); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Record{Actor: by, Action: action, Detail: map[string]any{"handle": handle, "node": target}})
	})
	if err == nil {
		s.changedCredentials(target)
	}
	return wrap(op, err)
}
