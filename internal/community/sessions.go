package community

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/metrics"
)

// BrowserSession is one of a person's browser sessions, as they see it. The
// session token itself is never shown: ID is an opaque hash prefix of it.
type BrowserSession struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Address    string    `json:"address"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// sessionIDLen is how many hex digits of the token's SHA-256 name a session:
// 64 bits, unique among one person's sessions, and worthless for guessing the
// token.
const sessionIDLen = 16

// SessionID is the opaque id of the session with token.
func SessionID(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])[:sessionIDLen]
}

// sessionIDSQL computes SessionID in SQL.
const sessionIDSQL = `left(encode(sha256(convert_to(token, 'UTF8')), 'hex'), 16)`

// userAgentMax bounds the stored browser description.
const userAgentMax = 300

// StartSession records where the browser session with token began, before scs
// saves it after the request: scs's upsert changes only data, expiry and
// node_id, so the address, browser and start time stay. The placeholder row
// expires in a minute should the request fail before scs saves it.
func (s *Store) StartSession(ctx context.Context, token string, nodeID int64, address, userAgent string) error {
	if utf8.RuneCountInString(userAgent) > userAgentMax {
		userAgent = string([]rune(userAgent)[:userAgentMax])
	}
	if !utf8.ValidString(userAgent) {
		userAgent = ""
	}
	_, err := s.pool.Exec(ctx, `
		INSERT INTO sessions (token, data, expiry, node_id, address, user_agent)
		VALUES ($1, '\x'::bytea, now() + interval '1 minute', $2, $3, $4)
		ON CONFLICT (token) DO UPDATE SET address = EXCLUDED.address, user_agent = EXCLUDED.user_agent`,
		token, nodeID, address, userAgent)
	if err != nil {
		return fmt.Errorf("start session: %w", err)
	}
	return nil
}

// ListSessions lists the node's live browser sessions, last used first;
// current is this browser's token ("" for an API client).
func (s *Store) ListSessions(ctx context.Context, nodeID int64, current string) ([]BrowserSession, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT `+sessionIDSQL+`, created_at, last_seen_at, address, user_agent, false
		FROM sessions WHERE node_id = $1 AND expiry > now()
		ORDER BY last_seen_at DESC, created_at DESC`, nodeID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[BrowserSession])
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	if current != "" {
		id := SessionID(current)
		for i := range out {
			out[i].Current = out[i].ID == id
		}
	}
	if out == nil {
		out = []BrowserSession{}
	}
	return out, nil
}

// SessionEnd is a person ending one of their browser sessions (ID), or all of
// them, after entering their password again.
type SessionEnd struct {
	ID       string `json:"id"`
	All      bool   `json:"all"`
	Password string `json:"password"`
}

// EndSession ends one browser session of the node, or all of them, once the
// password is right. One session's expiry is set in the past (the sessions
// trigger keeps it so, whatever a request in flight saves); all of them end by
// raising the node's session epoch as well. Access tokens are untouched: they
// are listed and revoked on their own. A wrong password counts as a failed
// sign-in, so the progressive delay limits guessing here too.
func (s *Store) EndSession(ctx context.Context, nodeID int64, in SessionEnd) error {
	if !in.All && (len(in.ID) != sessionIDLen || !isHex(in.ID)) {
		return invalid("id", "Choose a session to end, or all of them.")
	}
	if err := s.recheckPassword(ctx, nodeID, in.Password, "end_session"); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if in.All {
			if _, err := tx.Exec(ctx, `
				WITH e AS (UPDATE nodes SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING id)
				UPDATE sessions SET expiry = now() - interval '1 second' WHERE node_id IN (SELECT id FROM e) AND expiry > now()`, nodeID); err != nil {
				return err
			}
		} else {
			tag, err := tx.Exec(ctx, `UPDATE sessions SET expiry = now() - interval '1 second'
				WHERE node_id = $1 AND expiry > now() AND `+sessionIDSQL+` = $2`, nodeID, in.ID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return ErrNotFound
			}
		}
		return audit.Write(ctx, tx, audit.Record{Actor: nodeID, Action: ActionEndSession,
			Detail: map[string]any{"session": in.ID, "all": in.All}})
	})
	if err == nil && in.All {
		s.changedCredentials(nodeID) // the session epoch
	}
	return wrap("end session", err)
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// recheckPassword checks the node's password before a sensitive change, as
// ChangePassword does: throttled like sign-in, a failure recorded as one, and
// a wrong password a ValidationError on "password".
func (s *Store) recheckPassword(ctx context.Context, nodeID int64, password, via string) error {
	var (
		email  string
		hash   *string
		active bool
	)
	err := s.pool.QueryRow(ctx, `SELECT email, password_hash, deactivated_at IS NULL FROM nodes WHERE id = $1`, nodeID).
		Scan(&email, &hash, &active)
	switch {
	case errors.Is(err, pgx.ErrNoRows), err == nil && !active:
		return ErrUnauthorized
	case err != nil:
		return fmt.Errorf("check password: %w", err)
	case hash == nil:
		return invalid("password", "You have no password here (you sign in with single sign-on); sign out everywhere instead, or ask a steward for a reset link.")
	}
	if password == "" {
		return invalid("password", "Enter your password.")
	}
	if utf8.RuneCountInString(password) > PasswordMaxLen {
		return invalid("password", "The password is wrong.")
	}
	ok, err := s.verifyPassword(ctx, nodeID, email, *hash, password, via)
	if te := (*ThrottledError)(nil); errors.As(err, &te) {
		return te
	}
	if err != nil {
		return fmt.Errorf("check password: %w", err)
	}
	if !ok {
		return invalid("password", "The password is wrong.")
	}
	return nil
}

// verifyPassword checks a signed-in node's password as sign-in would: refused
// with a *ThrottledError (and no hashing) while the account's progressive
// delay runs, and a wrong password recorded as a failed sign-in (via says
// where), so that the delay limits guessing through every form that asks.
func (s *Store) verifyPassword(ctx context.Context, nodeID int64, email, hash, password, via string) (bool, error) {
	account := SigninAccount(email)
	log := audit.NewStore(s.pool)
	failures, wait, err := accountDelay(ctx, log, account)
	if err != nil {
		return false, err
	}
	if wait > 0 {
		return false, &ThrottledError{RetryAfter: wait}
	}
	metrics.PasswordChecks.Inc()
	ok, err := checkPassword(ctx, hash, password)
	if err != nil || ok {
		return ok, err
	}
	return false, log.Add(ctx, audit.Record{Actor: nodeID, Action: audit.ActionSigninFailed, Detail: map[string]any{
		"account": account, "failures": failures + 1, "via": via,
	}})
}
