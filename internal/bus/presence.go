package bus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// SubjectPresence carries each instance's local presence: which nodes are on
// which key (e.g. "thread:42") right now. Core NATS, not JetStream: presence is
// only worth anything while it is fresh, so nothing is stored or replayed.
const SubjectPresence = "nc.presence"

// Presence is a small cluster-wide "who is here" keyed by string. Every
// instance publishes its own local key→nodes map every interval, and at once
// whenever it changes; each instance keeps the latest map of every peer and
// drops one not heard from for the TTL (a crashed instance). Viewers is the
// union of the local map and the live peers' maps. Like Membership there is no
// coordinator: every instance builds the same view from the same messages.
type Presence struct {
	nc       *nats.Conn
	id       string // this instance's presence id (random, so a restart is a new peer)
	interval time.Duration
	ttl      time.Duration

	pubMu  sync.Mutex // announcements leave in the order their maps were read
	mu     sync.Mutex
	local  map[string]map[int64]int // key → node → how many local streams
	remote map[string]presencePeer  // peer id → its last announcement

	sub    *nats.Subscription
	cancel context.CancelFunc
	done   chan struct{}
}

// presenceMsg is one instance's announcement on the wire. An empty Keys says
// "nobody is here on that instance any more" (sent on a change and on Close).
type presenceMsg struct {
	ID   string             `json:"id"`
	Keys map[string][]int64 `json:"keys"`
}

type presencePeer struct {
	keys map[string][]int64
	seen time.Time
}

// NewPresence subscribes to the peers' announcements and starts announcing this
// instance's own every interval until Close. A peer not heard from for ttl is
// forgotten, so ttl should be a few intervals.
func NewPresence(nc *nats.Conn, interval, ttl time.Duration) (*Presence, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	p := &Presence{
		nc: nc, id: hex.EncodeToString(b), interval: interval, ttl: ttl,
		local: map[string]map[int64]int{}, remote: map[string]presencePeer{},
	}
	sub, err := nc.Subscribe(SubjectPresence, p.receive)
	if err != nil {
		return nil, err
	}
	p.sub = sub
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.announce()
				p.prune()
			}
		}
	}()
	return p, nil
}

func (p *Presence) receive(msg *nats.Msg) {
	var m presenceMsg
	if json.Unmarshal(msg.Data, &m) != nil || m.ID == "" || m.ID == p.id {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(m.Keys) == 0 {
		delete(p.remote, m.ID)
		return
	}
	p.remote[m.ID] = presencePeer{keys: m.Keys, seen: time.Now()}
}

// announce publishes this instance's local map (even an empty one, which clears
// what the peers remember of it).
func (p *Presence) announce() {
	p.pubMu.Lock()
	defer p.pubMu.Unlock()
	p.mu.Lock()
	m := presenceMsg{ID: p.id, Keys: make(map[string][]int64, len(p.local))}
	for key, nodes := range p.local {
		for n := range nodes {
			m.Keys[key] = append(m.Keys[key], n)
		}
	}
	p.mu.Unlock()
	b, _ := json.Marshal(m)
	_ = p.nc.Publish(SubjectPresence, b)
}

func (p *Presence) prune() {
	cutoff := time.Now().Add(-p.ttl)
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, peer := range p.remote {
		if peer.seen.Before(cutoff) {
			delete(p.remote, id)
		}
	}
}

// Enter records that node is on key on this instance (one call per stream: the
// same node on two tabs enters twice) and tells the peers at once. The returned
// leave undoes it; calling it more than once is harmless.
func (p *Presence) Enter(key string, node int64) (leave func()) {
	p.mu.Lock()
	if p.local[key] == nil {
		p.local[key] = map[int64]int{}
	}
	p.local[key][node]++
	p.mu.Unlock()
	p.announce()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			if nodes := p.local[key]; nodes != nil {
				if nodes[node]--; nodes[node] <= 0 {
					delete(nodes, node)
				}
				if len(nodes) == 0 {
					delete(p.local, key)
				}
			}
			p.mu.Unlock()
			p.announce()
		})
	}
}

// Viewers lists, in ascending order and without repeats, the nodes on key on
// any live instance of the cluster.
func (p *Presence) Viewers(key string) []int64 {
	cutoff := time.Now().Add(-p.ttl)
	p.mu.Lock()
	var out []int64
	for n := range p.local[key] {
		out = append(out, n)
	}
	for _, peer := range p.remote {
		if peer.seen.After(cutoff) {
			out = append(out, peer.keys[key]...)
		}
	}
	p.mu.Unlock()
	slices.Sort(out)
	return slices.Compact(out)
}

// Close stops announcing and tells the peers this instance has nobody anywhere.
func (p *Presence) Close() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	<-p.done
	p.cancel = nil
	_ = p.sub.Unsubscribe()
	p.mu.Lock()
	p.local = map[string]map[int64]int{}
	p.mu.Unlock()
	p.announce()
	_ = p.nc.FlushTimeout(time.Second)
}
