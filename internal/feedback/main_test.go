package feedback

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// recordingPublisher keeps what the stores published.
type recordingPublisher struct {
	mu     sync.Mutex
	events []community.Event
}

func (p *recordingPublisher) Publish(_ context.Context, subject string, id int64, data []byte) (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, err := community.DecodeEvent(data)
	if err != nil {
		return 0, err
	}
	e.Subject = subject
	p.events = append(p.events, e)
	return uint64(len(p.events)), nil
}

// take returns the events of the type published since the last take (and
// forgets every event).
func (p *recordingPublisher) take(typ string) []community.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []community.Event
	for _, e := range p.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	p.events = nil
	return out
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *community.ValidationError
	if !errors.As(err, &ve) || ve.Field != field {
		t.Fatalf("err = %v, want a validation error on %q", err, field)
	}
}
