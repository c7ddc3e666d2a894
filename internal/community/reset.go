package community

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/audit"
)

// ResetPrefix marks password reset tokens, so a token pasted in the wrong
// place is recognised and refused without a database lookup.
const ResetPrefix = "ncr_"

// ResetValidity is how long a reset link works: long enough to reach a person
// by another channel, short enough that a forgotten link is soon worthless.
const ResetValidity = 24 * time.Hour

// ErrResetInvalid: the reset token is unknown, used, expired, or its person
// is deactivated. One error for all, so the answer tells nothing more.
var ErrResetInvalid = errors.New("this reset link is unknown, used or expired: ask a steward for a new one")

// Reset is a new password reset link's secret, shown once to the steward.
type Reset struct {
	Token     string    `json:"token"`
	Handle    string    `json:"handle"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateReset makes a one-time reset link for the active person with handle.
// Only stewards may; the check, the insert and the audit row are one
// transaction. Only a hash of the token is stored.
func (s *Store) CreateReset(ctx context.Context, by int64, handle string) (Reset, error) {
	handle = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(handle), "@"))
	token, err := newSecret(ResetPrefix)
	if err != nil {
		return Reset{}, fmt.Errorf("create reset: %w", err)
	}
	out := Reset{Token: token, Handle: handle}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var isSteward bool
		if err := tx.QueryRow(ctx, `SELECT `+stewardCheck, by).Scan(&isSteward); err != nil {
			return err
		}
		if !isSteward {
			return ErrForbidden
		}
		var target int64
		var active bool
		err := tx.QueryRow(ctx, `SELECT id, deactivated_at IS NULL FROM nodes WHERE handle = $1`, handle).Scan(&target, &active)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !active {
			return invalid("handle", "@%s is deactivated.", handle)
		}
		if err := tx.QueryRow(ctx, `
			INSERT INTO password_resets (token_hash, node_id, created_by, expires_at)
			VALUES ($1, $2, $3, now() + $4::interval) RETURNING expires_at`,
			secretHash(token), target, by, ResetValidity).Scan(&out.ExpiresAt); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Record{Actor: by, Action: ActionResetCreate,
			Detail: map[string]any{"handle": handle, "node": target}})
	})
	if err != nil {
		return Reset{}, wrap("create reset", err)
	}
	return out, nil
}

// resetTarget is the node of a usable reset token.
const resetTarget = `
SELECT r.id, n.id, n.handle, n.email FROM password_resets r JOIN nodes n ON n.id = r.node_id
WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > now() AND n.deactivated_at IS NULL`

// CheckReset reports whether token is a usable reset link, and whose.
func (s *Store) CheckReset(ctx context.Context, token string) (handle string, err error) {
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, ResetPrefix) || len(token) > 100 {
		return "", ErrResetInvalid
	}
	var id, node int64
	var email string
	err = s.pool.QueryRow(ctx, resetTarget, secretHash(token)).Scan(&id, &node, &handle, &email)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrResetInvalid
	}
	if err != nil {
		return "", fmt.Errorf("check reset: %w", err)
	}
	return handle, nil
}

// UseReset sets a new password with a reset link (the same rules as at
// sign-up; a broken rule is a ValidationError on "new_password"), uses the
// link up, ends every browser session and access token of the person and
// writes the audit row, in one transaction. It returns the node's id, so the
// caller can tell every instance that its sessions ended.
func (s *Store) UseReset(ctx context.Context, token, password string, banned []string) (int64, error) {
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, ResetPrefix) || len(token) > 100 {
		return 0, ErrResetInvalid
	}
	var (
		resetID, node int64
		handle, email string
	)
	err := s.pool.QueryRow(ctx, resetTarget, secretHash(token)).Scan(&resetID, &node, &handle, &email)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, ErrResetInvalid
	}
	if err != nil {
		return 0, fmt.Errorf("use reset: %w", err)
	}
	if err := newPasswordField(ValidateNewPassword(password, banned, handle, emailName(email))); err != nil {
		return 0, err
	}
	hash, err := HashPassword(ctx, password)
	if err != nil {
		return 0, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Single use even when two requests race: only one marks it used.
		tag, err := tx.Exec(ctx, `UPDATE password_resets SET used_at = now()
			WHERE id = $1 AND used_at IS NULL AND expires_at > now()`, resetID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrResetInvalid
		}
		if _, err := tx.Exec(ctx, `UPDATE nodes SET password_hash = $2 WHERE id = $1 AND deactivated_at IS NULL`, node, hash); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, endSessions, node); err != nil {
			return err
		}
		// Other reset links of the person are worthless once one is used.
		if _, err := tx.Exec(ctx, `UPDATE password_resets SET used_at = now() WHERE node_id = $1 AND used_at IS NULL`, node); err != nil {
			return err
		}
		return audit.Write(ctx, tx, audit.Record{Actor: node, Action: ActionResetUse, Detail: map[string]any{"reset": resetID}})
	})
	if errors.Is(err, ErrResetInvalid) {
		return 0, ErrResetInvalid
	}
	if err != nil {
		return 0, wrap("use reset", err)
	}
	s.changedCredentials(node)
	return node, nil
}
