package community

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/nbutton23/zxcvbn-go/data"

	"github.com/nodecommunity/nodecommunity/internal/audit"
)

// Audit actions of password changes and session endings, besides the ones in
// internal/audit.
const (
	ActionPasswordChange = "password_change" // a person changed their own password
	ActionEndSessions    = "end_sessions"    // a steward ended one person's sessions
	ActionEndSession     = "end_session"     // a person ended one of their browser sessions
	ActionResetCreate    = "password_reset_created"
	ActionResetUse       = "password_reset_used"
)

// ProductWords are refused in every new password, whatever the configuration:
// the product's name is the first word an attacker tries on its sign-in page.
var ProductWords = []string{"nodecommunity", "node community"}

// breachedPasswords is the corpus of common passwords new passwords are
// checked against: the "Passwords" frequency list of the zxcvbn Go port
// (github.com/nbutton23/zxcvbn-go, MIT licence), which is Mark Burnett's list
// of the 10,000 most used passwords seen in breaches, de-duplicated to 7,141
// entries. It ships inside the module, so no network is needed at run time or
// in CI, and it is decoded once, on first use.
var breachedPasswords = sync.OnceValue(func() []string {
	b, err := data.Asset("data/Passwords.json")
	if err != nil {
		panic("community: zxcvbn password list missing: " + err.Error())
	}
	var l struct{ List []string }
	if err := json.Unmarshal(b, &l); err != nil {
		panic("community: zxcvbn password list unreadable: " + err.Error())
	}
	return l.List
})

// CommonPasswordCount is the size of the common-password corpus (the breached
// list and the workplace list together, without duplicates).
func CommonPasswordCount() int { return len(commonPasswordSet()) }

// trimVariation removes what people add to a common password to get past a
// list: trailing digits and punctuation ("dragon2026!" is "dragon").
func trimVariation(pw string) string {
	return strings.TrimRightFunc(pw, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) || r == ' ' })
}

// squash keeps only letters and digits, lower-cased, so that "Node-Community"
// and "node community" compare as one word.
func squash(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// personalWordMin is the length from which a person's own words (handle, the
// name part of their email) are refused inside a password: a two-letter
// handle is part of too many good passphrases to ban.
const personalWordMin = 4

// ValidateNewPassword checks a password someone is choosing: ValidatePassword
// (8–128 characters, not a common or breached password, nor one with only
// digits or punctuation added), and none of the context-specific words in it:
// ProductWords, the organisation's banned words (PASSWORD_BANNED_WORDS) and
// the person's own words (handle, the name part of their email) — compared
// case-insensitively and ignoring spaces and punctuation.
func ValidateNewPassword(pw string, banned []string, personal ...string) error {
	if err := ValidatePassword(pw); err != nil {
		return err
	}
	if base := trimVariation(pw); base != pw && utf8.RuneCountInString(base) >= 4 && commonPassword(base) {
		return invalid("password", "This is a common password with digits or symbols added; choose another.")
	}
	sq := squash(pw)
	for _, w := range append(append([]string{}, ProductWords...), banned...) {
		if w := squash(w); len(w) >= 3 && strings.Contains(sq, w) {
			return invalid("password", "Passwords may not contain the name of this organisation or product; choose another.")
		}
	}
	for _, w := range personal {
		if w := squash(w); utf8.RuneCountInString(w) >= personalWordMin && strings.Contains(sq, w) {
			return invalid("password", "Passwords may not contain your handle or email address; choose another.")
		}
	}
	return nil
}

// emailName is the part of an email address before the @.
func emailName(email string) string {
	name, _, _ := strings.Cut(email, "@")
	return name
}

// needsRehash reports whether an encoded hash was made with other parameters
// than HashPassword uses now (say, before they were raised), so that a
// successful sign-in can store a new hash while it holds the password.
func needsRehash(encoded string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return true
	}
	var mem, iter uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil {
		return true
	}
	return mem != argonMemoryKiB || iter != argonTime || threads != argonThreads ||
		len(parts[4]) != base64Len(argonSaltLen) || len(parts[5]) != base64Len(argonKeyLen)
}

func base64Len(n int) int { return (n*8 + 5) / 6 }

// rehash replaces the node's password hash old with one made with today's
// parameters. It changes nothing when the hash changed meanwhile (a password
// change won), and a failure only postpones the upgrade to the next sign-in,
// so it is logged, not returned.
func (s *Store) rehash(ctx context.Context, nodeID int64, old, password string) {
	hash, err := HashPassword(ctx, password)
	if err == nil {
		_, err = s.pool.Exec(ctx, `UPDATE nodes SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, nodeID, old, hash)
	}
	if err != nil {
		s.logger().Warn("password rehash failed", "node", nodeID, "err", err)
	}
}

// PasswordChange is a person changing their own password.
type PasswordChange struct {
	Current string `json:"current_password"`
	New     string `json:"new_password"`
	// EndOtherSessions ends every other browser session and access token of
	// the node: after a password change, whoever knew the old one is out.
	EndOtherSessions bool `json:"end_other_sessions"`
	// KeepToken is the access token the change was made with (0 for a
	// browser), which stays valid when other sessions end.
	KeepToken int64 `json:"-"`
	// BannedWords is PASSWORD_BANNED_WORDS, set by the caller.
	BannedWords []string `json:"-"`
}

// ErrNoPassword: the node has no password to change (it signs in by single
// sign-on, or was imported and never signed up).
var ErrNoPassword = errors.New("no password set")

// ChangePassword sets a new password after checking the current one. A wrong
// current password is a ValidationError on "current_password" and counts as a
// failed sign-in of the account, so the progressive sign-in delay also limits
// guessing through this form; a new password that breaks the sign-up rules is
// one on "new_password". The change, the ending of the other sessions (when
// asked) and the audit row are one transaction.
func (s *Store) ChangePassword(ctx context.Context, nodeID int64, in PasswordChange) error {
	var (
		email, handle string
		old           *string
		active        bool
	)
	err := s.pool.QueryRow(ctx, `SELECT email, handle, password_hash, deactivated_at IS NULL FROM nodes WHERE id = $1`, nodeID).
		Scan(&email, &handle, &old, &active)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrUnauthorized
	case err != nil:
		return fmt.Errorf("change password: %w", err)
	case !active:
		return ErrUnauthorized
	case old == nil:
		return invalid("current_password", "You have no password here yet (you sign in with single sign-on, or ask a steward for a reset link).")
	}
	if utf8.RuneCountInString(in.Current) > PasswordMaxLen {
		return invalid("current_password", "The current password is wrong.")
	}
	ok, err := s.verifyPassword(ctx, nodeID, email, *old, in.Current, "password_change")
	if te := (*ThrottledError)(nil); errors.As(err, &te) {
		return te
	}
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !ok {
		return invalid("current_password", "The current password is wrong.")
	}
	if err := newPasswordField(ValidateNewPassword(in.New, in.BannedWords, handle, emailName(email))); err != nil {
		return err
	}
	hash, err := HashPassword(ctx, in.New)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE nodes SET password_hash = $3 WHERE id = $1 AND password_hash = $2`, nodeID, *old, hash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return Conflict("current_password", "Your password was changed meanwhile; sign in again.")
		}
		if in.EndOtherSessions {
			if _, err := tx.Exec(ctx, endOtherSessions, nodeID, in.KeepToken); err != nil {
				return err
			}
		}
		return audit.Write(ctx, tx, audit.Record{Actor: nodeID, Action: ActionPasswordChange,
			Detail: map[string]any{"other_sessions_ended": in.EndOtherSessions}})
	})
	if err == nil && in.EndOtherSessions {
		s.changedCredentials(nodeID)
	}
	return wrap("change password", err)
}

// endOtherSessions is endSessions keeping the access token $2: the browser
// session that changed the password starts again under the new epoch
// (web: signIn), and the API client that did keeps its token.
const endOtherSessions = `
WITH e AS (UPDATE nodes SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING id),
     d AS (DELETE FROM sessions WHERE node_id IN (SELECT id FROM e))
UPDATE access_tokens SET revoked_at = now()
WHERE node_id IN (SELECT id FROM e) AND revoked_at IS NULL AND id <> $2`

// newPasswordField names the field of a new-password rule "new_password", as
// the change and reset forms call it.
func newPasswordField(err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) && ve.Field == "password" {
		return &ValidationError{Field: "new_password", Message: ve.Message}
	}
	return err
}

// EndNodeSessions ends every browser session and access token of the node
// with handle, without deactivating it: a steward's answer to a lost laptop
// or a suspected break-in. Only stewards may; it is audited.
func (s *Store) EndNodeSessions(ctx context.Context, by int64, handle string) error {
	return s.stewardAction(ctx, "end sessions", ActionEndSessions, by, handle, endSessions, false)
}
