package community

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Single sign-on refusals. Each wraps ErrForbidden, so a caller that does not
// tell them apart still answers 403; the web layer names the reason.
var (
	// ErrEmailUnverified: the provider does not vouch for the email address
	// (email_verified is not true), so it proves nothing about who this is.
	ErrEmailUnverified = fmt.Errorf("email not verified by the identity provider: %w", ErrForbidden)
	// ErrEmailDomain: the address is outside the organisation's domains.
	ErrEmailDomain = fmt.Errorf("email outside the organisation's domains: %w", ErrForbidden)
	// ErrNodeDeactivated: the node the identity signs in as is deactivated.
	ErrNodeDeactivated = fmt.Errorf("node deactivated: %w", ErrForbidden)
	// ErrIdentityLinkedElsewhere: the node with this email is already linked
	// to another account at the same provider.
	ErrIdentityLinkedElsewhere = fmt.Errorf("node linked to another account at this provider: %w", ErrForbidden)
)

// ExternalIdentity is a person as an OpenID Connect provider vouches for them.
// The caller fills it from an ID token whose signature, issuer, audience,
// expiry and nonce it has verified; the store trusts nothing else about it.
type ExternalIdentity struct {
	Issuer        string // the provider's issuer URL ("iss")
	Subject       string // the provider's stable id of the person ("sub")
	Email         string
	EmailVerified bool   // the provider checked the person controls Email
	Name          string // the "name" claim; may be empty
}

// SSOOutcome says how SignInExternal found the node.
type SSOOutcome int

// How the node of an external identity was found.
const (
	SSOReturning SSOOutcome = iota + 1 // by (issuer, subject): signed in this way before
	SSOLinked                          // by verified email: an existing node, linked now
	SSOCreated                         // just in time: a new node
)

func (o SSOOutcome) String() string {
	switch o {
	case SSOReturning:
		return "returning"
	case SSOLinked:
		return "linked"
	case SSOCreated:
		return "created"
	}
	return "unknown"
}

// SignInExternal resolves a provider-verified identity to the node it signs in
// as, under the organisation's email domains (exact matches, lower case):
//
//   - only a verified email in one of domains gets in, on every sign-in, so a
//     person whose address moves out of the organisation is refused;
//   - a returning identity (issuer, subject) signs in as the node it is linked to;
//   - otherwise the node with that email is linked to it (the provider has just
//     proved the person controls the address), unless that node is linked to
//     another account at the same provider;
//   - otherwise a node is created just in time, with a handle derived from the
//     email's local part (made unique) and the name claim. Like a sign-up, the
//     first node of an organisation without a steward becomes its steward.
//
// Deactivated nodes are refused. Everything happens in one transaction under
// the sign-up lock, so two first sign-ins cannot create two nodes.
func (s *Store) SignInExternal(ctx context.Context, id ExternalIdentity, domains []string) (Node, SSOOutcome, error) {
	id.Issuer = strings.TrimSpace(id.Issuer)
	id.Email = strings.ToLower(strings.TrimSpace(id.Email))
	id.Name = strings.TrimSpace(id.Name)
	switch {
	case id.Issuer == "" || len(id.Issuer) > 2048:
		return Node{}, 0, invalid("iss", "The provider named no issuer.")
	case id.Subject == "" || len(id.Subject) > 255:
		// OpenID Connect Core 1.0, 2: sub is at most 255 ASCII characters.
		return Node{}, 0, invalid("sub", "The provider gave no usable subject identifier.")
	case id.Email == "":
		return Node{}, 0, invalid("email", "The provider did not share your email address; it is needed to find your node.")
	}
	if err := validateEmail("email", id.Email); err != nil {
		return Node{}, 0, err
	}
	if !id.EmailVerified {
		return Node{}, 0, ErrEmailUnverified
	}
	if !EmailInDomains(id.Email, domains) {
		return Node{}, 0, ErrEmailDomain
	}

	var (
		n       Node
		outcome SSOOutcome
	)
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, signupLock); err != nil {
			return err
		}
		var err error
		n, outcome, err = resolveIdentity(ctx, tx, id)
		return err
	})
	if err != nil {
		return Node{}, 0, wrap("sign in with single sign-on", err)
	}
	return n, outcome, nil
}

func resolveIdentity(ctx context.Context, tx pgx.Tx, id ExternalIdentity) (Node, SSOOutcome, error) {
	n, err := scanNode(tx.QueryRow(ctx, `
		SELECT `+nodeColumns+` FROM oidc_identities i JOIN nodes n ON n.id = i.node_id
		WHERE i.issuer = $1 AND i.subject = $2`, id.Issuer, id.Subject))
	switch {
	case err == nil:
		if !n.Active {
			return Node{}, 0, ErrNodeDeactivated
		}
		_, err := tx.Exec(ctx, `
			UPDATE oidc_identities SET email = $3, last_seen_at = now()
			WHERE issuer = $1 AND subject = $2`, id.Issuer, id.Subject, id.Email)
		return n, SSOReturning, err
	case !errors.Is(err, ErrNotFound):
		return Node{}, 0, err
	}

	outcome := SSOLinked
	n, err = scanNode(tx.QueryRow(ctx, `SELECT `+nodeColumns+` FROM nodes n WHERE n.email = $1 FOR UPDATE`, id.Email))
	switch {
	case err == nil:
		if !n.Active {
			return Node{}, 0, ErrNodeDeactivated
		}
		var linked bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM oidc_identities WHERE issuer = $1 AND node_id = $2)`,
			id.Issuer, n.ID).Scan(&linked); err != nil {
			return Node{}, 0, err
		}
		if linked {
			return Node{}, 0, ErrIdentityLinkedElsewhere
		}
	case errors.Is(err, ErrNotFound):
		outcome = SSOCreated
		if n, err = createExternalNode(ctx, tx, id); err != nil {
			return Node{}, 0, err
		}
	default:
		return Node{}, 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO oidc_identities (issuer, subject, node_id, email) VALUES ($1, $2, $3, $4)`,
		id.Issuer, id.Subject, n.ID, id.Email); err != nil {
		return Node{}, 0, err
	}
	return n, outcome, nil
}

// createExternalNode inserts the node of a person signing in for the first
// time. It has no password: the provider is how it signs in.
func createExternalNode(ctx context.Context, tx pgx.Tx, id ExternalIdentity) (Node, error) {
	local := id.Email[:strings.LastIndexByte(id.Email, '@')]
	name := id.Name
	if name == "" {
		name = local
	}
	if utf8.RuneCountInString(name) > 100 {
		name = string([]rune(name)[:100])
	}
	handle, err := uniqueHandle(ctx, tx, HandleFromEmail(id.Email))
	if err != nil {
		return Node{}, err
	}
	n, err := scanNode(tx.QueryRow(ctx, `
		INSERT INTO nodes AS n (handle, display_name, email, steward)
		VALUES ($1, $2, $3, NOT EXISTS (SELECT 1 FROM nodes WHERE steward))
		RETURNING `+nodeColumns, handle, name, id.Email))
	if err != nil {
		return Node{}, accountConflict(err)
	}
	return n, nil
}

// HandleFromEmail proposes a handle for a person from their email address:
// the local part without a "+tag", lower-cased, with every run of characters
// a handle cannot hold turned into one '-' ("Ana.Lopez+x@…" → "ana-lopez"),
// at most 32 characters. It may be too short to be a valid handle ("a"), or
// empty; uniqueHandle deals with both.
func HandleFromEmail(email string) string {
	local := email
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	local, _, _ = strings.Cut(local, "+")
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(local) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	h := strings.Trim(b.String(), "-_")
	if len(h) > 32 {
		h = strings.TrimRight(h[:32], "-_")
	}
	return h
}

// uniqueHandle returns base, or base-2, base-3 … (shortened to fit), the
// first that is a valid handle nobody has. It runs under the sign-up lock, so
// the handle is still free when the node is inserted.
func uniqueHandle(ctx context.Context, tx pgx.Tx, base string) (string, error) {
	if base == "" {
		base = "member"
	}
	// Every candidate starts with the first 20 characters of base (suffixes
	// are shorter than 12), so one query finds every handle in the way.
	prefix := base[:min(len(base), 20)]
	rows, err := tx.Query(ctx, `SELECT handle FROM nodes WHERE starts_with(handle, $1)`, prefix)
	if err != nil {
		return "", err
	}
	taken, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	used := make(map[string]bool, len(taken))
	for _, h := range taken {
		used[h] = true
	}
	for i := 1; i <= len(taken)+2; i++ {
		c := base
		if i > 1 {
			suffix := "-" + strconv.Itoa(i)
			c = strings.TrimRight(base[:min(len(base), 32-len(suffix))], "-_") + suffix
		}
		if ValidHandle(c) && !used[c] {
			return c, nil
		}
	}
	// Unreachable: among len(taken)+1 distinct valid candidates one is free.
	return "", errors.New("no free handle")
}

// EmailInDomains reports whether email's domain is one of domains (exactly,
// case-insensitively): subdomains must be listed themselves.
func EmailInDomains(email string, domains []string) bool {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return false
	}
	d := strings.ToLower(email[at+1:])
	for _, want := range domains {
		if d == strings.ToLower(want) {
			return true
		}
	}
	return false
}
