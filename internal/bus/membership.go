package bus

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// Subjects of the membership protocol. Each instance publishes a heartbeat every
// interval; "hello" asks every peer to heartbeat now, so a new instance sees the
// cluster at once; "leave" is sent on a graceful stop. A peer that stops without
// leaving is dropped when its heartbeats are older than the TTL. There is no
// coordinator: every instance keeps its own view from the same messages.
const (
	SubjectHeartbeat = "nc.cluster.heartbeat"
	SubjectHello     = "nc.cluster.hello"
	SubjectLeave     = "nc.cluster.leave"
)

// Member is one live instance as seen from this one.
type Member struct {
	Name      string    `json:"name"`
	HTTPAddr  string    `json:"http_addr"`
	StartedAt time.Time `json:"started_at"`
	LastSeen  time.Time `json:"last_seen"`
	Clients   int       `json:"clients"`
}

// Membership announces this instance and tracks its peers.
type Membership struct {
	nc       *nats.Conn
	self     Member
	clients  func() int
	interval time.Duration
	ttl      time.Duration

	online func() []int64 // nodes with a live stream here; nil: none

	mu    sync.Mutex
	peers map[string]peer

	subs   []*nats.Subscription
	cancel context.CancelFunc
	done   chan struct{}
}

// NewMembership prepares the announcement of one instance. clients reports its
// live streaming clients (may be nil).
func NewMembership(nc *nats.Conn, name, httpAddr string, clients func() int, interval, ttl time.Duration) *Membership {
	if clients == nil {
		clients = func() int { return 0 }
	}
	return &Membership{
		nc:       nc,
		self:     Member{Name: name, HTTPAddr: httpAddr, StartedAt: time.Now().UTC().Truncate(time.Millisecond)},
		clients:  clients,
		interval: interval,
		ttl:      ttl,
		peers:    map[string]peer{},
	}
}

// Start subscribes, says hello and heartbeats until Stop.
func (m *Membership) Start() error {
	hb, err := m.nc.Subscribe(SubjectHeartbeat, func(msg *nats.Msg) {
		var p peer
		if json.Unmarshal(msg.Data, &p) != nil || p.Name == "" {
			return
		}
		p.LastSeen = time.Now().UTC()
		m.mu.Lock()
		m.peers[p.Name] = p
		m.mu.Unlock()
	})
	if err != nil {
		return err
	}
	hello, err := m.nc.Subscribe(SubjectHello, func(*nats.Msg) { m.beat() })
	if err != nil {
		return err
	}
	leave, err := m.nc.Subscribe(SubjectLeave, func(msg *nats.Msg) {
		m.mu.Lock()
		delete(m.peers, string(msg.Data))
		m.mu.Unlock()
	})
	if err != nil {
		return err
	}
	m.subs = []*nats.Subscription{hb, hello, leave}
	_ = m.nc.Publish(SubjectHello, []byte(m.self.Name))
	m.beat()

	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	done := make(chan struct{})
	m.done = done
	go func() {
		defer close(done)
		t := time.NewTicker(m.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.beat()
				m.prune()
			}
		}
	}()
	return nil
}

func (m *Membership) beat() {
	me := peer{Member: m.self}
	me.Clients = m.clients()
	if m.online != nil {
		me.Online = m.online()
	}
	b, _ := json.Marshal(me)
	_ = m.nc.Publish(SubjectHeartbeat, b)
}

func (m *Membership) prune() {
	cutoff := time.Now().Add(-m.ttl)
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, p := range m.peers {
		if p.LastSeen.Before(cutoff) {
			delete(m.peers, name)
		}
	}
}

// Members lists the live instances, this one included, ordered by name.
func (m *Membership) Members() []Member {
	cutoff := time.Now().Add(-m.ttl)
	m.mu.Lock()
	out := make([]Member, 0, len(m.peers)+1)
	for _, p := range m.peers {
		if p.Name != m.self.Name && p.LastSeen.After(cutoff) {
			out = append(out, p.Member)
		}
	}
	m.mu.Unlock()
	// This instance is alive by definition, even while NATS is unreachable.
	me := m.self
	me.Clients = m.clients()
	me.LastSeen = time.Now().UTC()
	out = append(out, me)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// peer is a heartbeat on the wire: the member plus who is online there.
type peer struct {
	Member
	Online []int64 `json:"online,omitempty"`
}

// SetOnline tells the membership how to list the nodes with a live stream on
// this instance; heartbeats carry them, so every instance knows who is online
// anywhere in the cluster. Call it before Start.
func (m *Membership) SetOnline(f func() []int64) { m.online = f }

// Online is the set of nodes with a live stream on any live instance.
func (m *Membership) Online() map[int64]bool {
	out := map[int64]bool{}
	if m.online != nil {
		for _, id := range m.online() {
			out[id] = true
		}
	}
	cutoff := time.Now().Add(-m.ttl)
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.peers {
		if p.Name != m.self.Name && p.LastSeen.After(cutoff) {
			for _, id := range p.Online {
				out[id] = true
			}
		}
	}
	return out
}

// Self is this instance's own announcement.
func (m *Membership) Self() Member { return m.self }

// Stop ends the heartbeat and tells the peers this instance is leaving.
func (m *Membership) Stop() {
	if m.cancel == nil {
		return
	}
	m.cancel()
	<-m.done
	for _, s := range m.subs {
		_ = s.Unsubscribe()
	}
	_ = m.nc.Publish(SubjectLeave, []byte(m.self.Name))
	_ = m.nc.FlushTimeout(time.Second)
	m.cancel = nil
}
