package asks

import "time"

// Options tune routing. The zero value of a field means its default.
type Options struct {
	// Fanout is how many new candidates one routing round offers an ask to.
	Fanout int
	// InitialHops is how far from the asker the first round looks (1 hop
	// before 2 before 3: nearer candidates always rank first).
	InitialHops int
	// MaxHops is how far widening may reach; the schema allows at most 6.
	MaxHops int
	// WidenAfter is how long a normal-urgency ask waits for someone to engage
	// before it widens one hop further. High urgency waits a quarter of it, low
	// urgency four times as long; an ask may also set its own.
	WidenAfter time.Duration
	// StaleAfter is the age at which an open ask with answers but none
	// accepted is listed as stale on the needs page.
	StaleAfter time.Duration
	// GraphMaxAge is how long this instance reuses its in-memory tie graph
	// before reloading it in the background. A change of declared connections
	// or of who is active is noticed at once (see tieVersion); interaction
	// weights may lag by up to this much. Negative: reload for every routing.
	GraphMaxAge time.Duration
}

// Defaults of Options.
const (
	DefaultFanout      = 8
	DefaultInitialHops = 3
	MaxHopsLimit       = 6 // asks.max_hops CHECK
	DefaultWidenAfter  = 2 * time.Hour
	DefaultStaleAfter  = 72 * time.Hour
	DefaultGraphMaxAge = 30 * time.Second
)

// Configure sets the routing options; call it before the store is used.
func (s *Store) Configure(o Options) { s.opts = o }

// options is s.opts with defaults filled in.
func (s *Store) options() Options {
	o := s.opts
	if o.Fanout <= 0 {
		o.Fanout = DefaultFanout
	}
	if o.MaxHops <= 0 || o.MaxHops > MaxHopsLimit {
		o.MaxHops = MaxHopsLimit
	}
	if o.InitialHops <= 0 {
		o.InitialHops = DefaultInitialHops
	}
	o.InitialHops = min(o.InitialHops, o.MaxHops)
	if o.WidenAfter <= 0 {
		o.WidenAfter = DefaultWidenAfter
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.GraphMaxAge == 0 {
		o.GraphMaxAge = DefaultGraphMaxAge
	}
	return o
}

// widenAfterFor is the default wait of an ask of the given urgency.
func (o Options) widenAfterFor(urgency string) time.Duration {
	switch urgency {
	case UrgencyHigh:
		return o.WidenAfter / 4
	case UrgencyLow:
		return o.WidenAfter * 4
	}
	return o.WidenAfter
}
