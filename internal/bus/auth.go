package bus

import (
	"encoding/json"
	"fmt"

	"github.com/nats-io/nats.go"
)

// SubjectAuthEnded tells every instance that sessions or tokens of a node
// ended (sign-out, sign-out everywhere, a revoked token, deactivation). Core
// NATS, not JetStream: the database has already refused the ended credentials
// on every instance; the message only makes each instance act on it at once —
// close the node's live streams and forget its cached tokens — so a message
// lost while an instance is cut off costs nothing that the database does not
// already enforce.
const SubjectAuthEnded = "nc.auth.ended"

// AuthEnded is one such notice.
type AuthEnded struct {
	Node int64 `json:"node"`
	// TokenID names the one access token revoked; 0 when the node's sessions
	// and tokens all ended or a browser session ended.
	TokenID int64 `json:"token_id,omitempty"`
	// All is set when every session and token of the node ended.
	All bool `json:"all,omitempty"`
	// From is the instance where it happened, which has acted on it already.
	From string `json:"from,omitempty"`
}

// AuthNotices publishes and receives AuthEnded notices.
type AuthNotices struct {
	nc  *nats.Conn
	sub *nats.Subscription
}

// NewAuthNotices publishes over nc; Subscribe starts receiving.
func NewAuthNotices(nc *nats.Conn) *AuthNotices { return &AuthNotices{nc: nc} }

// Publish tells every instance, this one included. It does not wait: core
// NATS buffers while reconnecting.
func (a *AuthNotices) Publish(e AuthEnded) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("auth notice: %w", err)
	}
	if err := a.nc.Publish(SubjectAuthEnded, b); err != nil {
		return fmt.Errorf("auth notice: %w", err)
	}
	return nil
}

// Subscribe calls fn for every notice, this instance's own included, in order.
func (a *AuthNotices) Subscribe(fn func(AuthEnded)) error {
	sub, err := a.nc.Subscribe(SubjectAuthEnded, func(m *nats.Msg) {
		var e AuthEnded
		if json.Unmarshal(m.Data, &e) == nil && e.Node != 0 {
			fn(e)
		}
	})
	if err != nil {
		return fmt.Errorf("auth notices: %w", err)
	}
	a.sub = sub
	return nil
}

// Close stops receiving.
func (a *AuthNotices) Close() {
	if a.sub != nil {
		_ = a.sub.Unsubscribe()
	}
}
