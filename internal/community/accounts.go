package community

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	return ValidatePassword(in.Password)
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
// all give ErrUnauthorized, after the same amount of hashing work.
func (s *Store) Authenticate(ctx context.Context, email, password string) (Node, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	var hash *string
	n, err := scanNodeAnd(s.pool.QueryRow(ctx, `SELECT `+nodeColumns+`, n.password_hash FROM nodes n WHERE n.email = $1`, email),
		&hash)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Node{}, fmt.Errorf("authenticate: %w", err)
	}
	if utf8.RuneCountInString(password) > PasswordMaxLen {
		return Node{}, ErrUnauthorized // no account has such a password; do not spend CPU on it
	}
	encoded := ""
	if hash != nil {
		encoded = *hash
	}
	if encoded == "" {
		if encoded, err = dummyHash(); err != nil {
			return Node{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	ok, err := checkPassword(ctx, encoded, password)
	if err != nil {
		return Node{}, fmt.Errorf("authenticate: %w", err)
	}
	if !ok || hash == nil || !n.Active {
		return Node{}, ErrUnauthorized
	}
	return n, nil
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
	// A busy client would otherwise write this row on every request.
	if lastUsed == nil || time.Since(*lastUsed) > tokenTouchEvery {
		if _, err := s.pool.Exec(ctx, `
			UPDATE access_tokens SET last_used_at = now()
			WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - $2::interval)`,
			id, tokenTouchEvery); err != nil {
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
	return s.stewardAction(ctx, "grant steward", by, handle, `UPDATE nodes SET steward = true WHERE id = $1`, false)
}

// Deactivate ends a node's access: it can no longer sign in, its sessions stop
// resolving and its access tokens are revoked. Its contributions stay. Only
// stewards may, and not on themselves (so one active steward always remains).
func (s *Store) Deactivate(ctx context.Context, by int64, handle string) error {
	return s.stewardAction(ctx, "deactivate", by, handle, `
		WITH d AS (UPDATE nodes SET deactivated_at = coalesce(deactivated_at, now()) WHERE id = $1 RETURNING id)
		UPDATE access_tokens SET revoked_at = now() WHERE node_id IN (SELECT id FROM d) AND revoked_at IS NULL`, true)
}

// stewardAction runs change ($1 = the target node) after
// checking, in the same transaction, that by is an active steward and the
// target exists.
func (s *Store) stewardAction(ctx context.Context, op string, by int64, handle, change string, notSelf bool) error {
	handle = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(handle), "@"))
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var isSteward bool
		if err := tx.QueryRow(ctx, `SELECT `+stewardCheck, by).Scan(&isSteward); err != nil {
			return err
		}
		if !isSteward {
			return ErrForbidden
		}
		var target int64
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
		_, err = tx.Exec(ctx, change, target)
		return err
	})
	return wrap(op, err)
}
