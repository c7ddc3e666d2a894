package community

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Capabilities a node can be granted. Neither changes how information flows:
// a steward looks after membership, a people analyst may see the named,
// organisation-wide analytics (every view audited).
const (
	CapabilitySteward       = "steward"
	CapabilityPeopleAnalyst = "people_analyst"
)

// SetCapability grants (or, with on false, revokes) a capability. by is the
// steward doing it, or 0 for the operator at the command line (`server grant`).
// A steward's own rights are checked by the caller's route; here by must at
// least be an active steward when it is not 0.
func (s *Store) SetCapability(ctx context.Context, by int64, handle, capability string, on bool) (Node, error) {
	var column string
	switch capability {
	case CapabilitySteward:
		column = "steward"
	case CapabilityPeopleAnalyst:
		column = "people_analyst"
	default:
		return Node{}, invalid("capability", "use steward or people_analyst")
	}
	var n Node
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if by != 0 {
			var steward bool
			err := tx.QueryRow(ctx, `SELECT steward AND deactivated_at IS NULL FROM nodes WHERE id = $1`, by).Scan(&steward)
			if err != nil || !steward {
				return ErrForbidden
			}
		}
		var err error
		n, err = scanNode(tx.QueryRow(ctx, `UPDATE nodes AS n SET `+column+` = $2 WHERE n.handle = $1 RETURNING `+nodeColumns,
			strings.ToLower(strings.TrimPrefix(handle, "@")), on))
		if errors.Is(err, ErrNotFound) {
			return invalid("handle", "no one has the handle %q", handle)
		}
		if err != nil {
			return err
		}
		if capability == CapabilitySteward && !on {
			var left int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE steward AND deactivated_at IS NULL`).Scan(&left); err != nil {
				return err
			}
			if left == 0 {
				return invalid("handle", "the organisation needs at least one steward")
			}
		}
		return nil
	})
	if err != nil {
		return Node{}, wrap(fmt.Sprintf("set %s", capability), err)
	}
	s.changedCredentials(n.ID)
	return n, nil
}
