package community

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Node is a person in the network. Title and location are informational: there
// is no manager field and no reporting line.
type Node struct {
	ID          int64    `json:"id"`
	Handle      string   `json:"handle"`
	DisplayName string   `json:"display_name"`
	Email       string   `json:"email,omitempty"`
	Title       string   `json:"title"`
	Location    string   `json:"location"`
	Bio         string   `json:"bio"`
	Skills      []string `json:"skills"`
	Steward     bool     `json:"steward"`
	// PeopleAnalyst may see the named organisation-wide analytics (audited).
	PeopleAnalyst bool      `json:"people_analyst"`
	Active        bool      `json:"active"`
	CreatedAt     time.Time `json:"created_at"`
}

// nodeColumns is the select list scanned by scanNode, for a table aliased n.
const nodeColumns = `n.id, n.handle, n.display_name, coalesce(n.email, ''), n.title, n.location, n.bio,
	n.skills, n.steward, n.people_analyst, n.deactivated_at IS NULL, n.created_at`

func scanNode(row pgx.Row) (Node, error) {
	var n Node
	err := row.Scan(&n.ID, &n.Handle, &n.DisplayName, &n.Email, &n.Title, &n.Location, &n.Bio,
		&n.Skills, &n.Steward, &n.PeopleAnalyst, &n.Active, &n.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return n, ErrNotFound
	}
	return n, err
}

// FindNodeByID returns one node.
func (s *Store) FindNodeByID(ctx context.Context, id int64) (Node, error) {
	n, err := scanNode(s.pool.QueryRow(ctx, `SELECT `+nodeColumns+` FROM nodes n WHERE n.id = $1`, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return n, fmt.Errorf("find node: %w", err)
	}
	return n, err
}

// FindNodeByHandle returns one node by its handle (case-insensitive).
func (s *Store) FindNodeByHandle(ctx context.Context, handle string) (Node, error) {
	n, err := scanNode(s.pool.QueryRow(ctx, `SELECT `+nodeColumns+` FROM nodes n WHERE n.handle = $1`, strings.ToLower(handle)))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return n, fmt.Errorf("find node: %w", err)
	}
	return n, err
}

var handleRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,31}$`)

// ValidHandle reports whether h is a well-formed handle: 2–32 lowercase letters,
// digits, '-' or '_', starting with a letter or digit.
func ValidHandle(h string) bool { return handleRe.MatchString(h) }
