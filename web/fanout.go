package web

// The fan-out: the instance's one tail of the event stream, handed to its live
// streams. It is built for thousands of streams on a small machine:
//
//   - an event is decoded once per instance into a *liveEvent that every stream
//     it goes to shares by pointer, and each stream format's rendering of it
//     (the SSE frame) is computed once, by whichever stream writes it first;
//   - streams are indexed by node, so an event visits its recipients' streams
//     instead of every stream checking the recipient list;
//   - a stream holds a short queue of pointers, and a stream that has something
//     to write is put on a run queue served by a small fixed pool of writer
//     goroutines, which write everything queued in one write (one flush);
//   - the streams of the JSON API and the dashboard take their connection over
//     from net/http once they are set up (fanout_conn.go), so an idle stream
//     costs no goroutine and no buffers, only its socket and this struct; a
//     closed peer is noticed by the hang-up watcher (fanout_watch_linux.go) or
//     by a failed write;
//   - one timer sends every stream's heartbeat, and one the dashboard's online
//     list (fanout_online.go).
//
// Streams whose rendering is per viewer and reads the database (a thread's or
// a proposal's page) keep their handler goroutine and write from it, with the
// same queue, heartbeat and one flush per batch ("owned" streams).

import (
	"bytes"
	"net"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nodecommunity/nodecommunity/internal/bus"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/metrics"
)

const (
	// recentEvents is how many events the hub keeps for resuming (about a
	// minute at 100 events a second). Pointers: 64 KB of ring.
	recentEvents = 8192
	// maxQueued is how many events a stream may have waiting to be written;
	// one that falls further behind is closed and its browser resumes from
	// its last event id, which loses nothing.
	maxQueued = 256
	// heartbeatEvery is how often a stream that wrote nothing is sent a
	// comment, so proxies keep it open and a dead peer is noticed.
	heartbeatEvery = 15 * time.Second
	// writeTimeout bounds one write to a stream. A peer that cannot take a
	// batch for this long is stuck (its socket buffer is full): it is closed,
	// and resumes when it reconnects, instead of holding a writer.
	writeTimeout = 2 * time.Second
)

// Stream formats whose renderings are cached on the event.
const (
	formatAPI       = iota // GET /api/v1/events: JSON
	formatDashboard        // GET /live: the dashboard's HTML fragments
	numFormats
)

// liveEvent is one event of the stream, decoded once per instance and shared by
// pointer by every stream it goes to (and by the hub's memory of recent events).
type liveEvent struct {
	Seq   uint64
	Event community.Event
	// frames caches each format's rendering; variant 1 is the rendering for
	// the one node the event is addressed to, where that differs (see
	// streamFormat.variant).
	frames [numFormats][2]cachedFrame
	// addressee is the node a dashboard notice is for (decoded once).
	addressee     int64
	addresseeOnce sync.Once
}

type cachedFrame struct {
	once sync.Once
	b    []byte
}

// streamFormat renders events for one kind of stream. The rendering depends
// only on the event and the variant, never on the request, so it is computed
// once per instance and the bytes are shared by every stream that writes them.
type streamFormat struct {
	slot int
	// variant picks which rendering viewer gets (nil: the same for everyone).
	variant func(ev *liveEvent, viewer int64) int
	// render writes the complete SSE frame(s) of ev, with its id.
	render func(ev *liveEvent, variant int, b *bytes.Buffer)
	// online: the stream also shows who of the node's connections is online.
	online bool
}

// frame is the rendering of ev for viewer, computed on first use.
func (f *streamFormat) frame(ev *liveEvent, viewer int64) []byte {
	v := 0
	if f.variant != nil {
		v = f.variant(ev, viewer)
	}
	c := &ev.frames[f.slot][v]
	c.once.Do(func() {
		var b bytes.Buffer
		f.render(ev, v, &b)
		c.b = b.Bytes()
	})
	return c.b
}

// endReason is why a stream ends.
type endReason uint8

const (
	endClosed  endReason = iota + 1 // the peer left, a write failed, or EndNodeStreams
	endLagging                      // too far behind: the browser resumes
	endDrain                        // the instance stops: say "reconnect" first
)

type subState uint8

const (
	subStarting subState = iota // the handler writes the opening and any replay
	subLive                     // events flow
	subEnding                   // closing (a drain's goodbye may still be written)
	subEnded
)

// goodbye is a stream's last words while the instance drains: come back soon,
// to whichever instance answers.
var goodbye = []byte(retryLine + "event: reconnect\ndata: draining\n\n")

// retryLine tells a browser how soon to reconnect when its stream ends; every
// stream opens with it (and a blank line) and says it again in its goodbye.
var retryLine = "retry: " + strconv.FormatInt(ReconnectDelay.Milliseconds(), 10) + "\n"

var pingFrame = []byte(": ping\n\n")

// subscriber is one live stream of one signed-in node.
type subscriber struct {
	node   int64
	token  int64 // the access token that opened it (0: a browser session)
	hub    *hub
	format *streamFormat // nil for owned streams with a per-viewer writer
	online bool          // receives the dashboard's online list

	mu        sync.Mutex
	state     subState
	reason    endReason
	queue     []*liveEvent // events to write, in order
	spare     []*liveEvent // the other half of the double buffer
	sent      uint64       // the highest sequence queued or written: older ones are skipped
	ping      bool         // a heartbeat is due
	wrote     bool         // something was written since the last heartbeat
	onlineNew []byte       // an online-list frame to write (nil: none)
	onlineOld []byte       // the online-list frame last written or queued
	scheduled bool         // on the writers' run queue, or being written

	// Pooled streams: the connection taken over from net/http, set before
	// the stream joins the hub and written by the pool only once it is live.
	// Owned streams: wake is signalled when there is something to write or
	// the stream must end.
	conn  net.Conn
	wake  chan struct{}
	watch uint64 // the hang-up watcher's id for conn (0: not watched)

	closeOnce sync.Once
}

// want marks the subscriber as having work and reports whether it must be put
// on the run queue (called with mu held).
func (sub *subscriber) want() bool {
	if sub.wake != nil {
		select {
		case sub.wake <- struct{}{}:
		default:
		}
		return false
	}
	if sub.state == subStarting || sub.scheduled {
		return false
	}
	sub.scheduled = true
	return true
}

// enqueue adds ev to the stream's queue. It reports whether the stream must be
// scheduled, and whether it fell too far behind.
func (sub *subscriber) enqueue(ev *liveEvent) (schedule, lagging bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if ev.Seq <= sub.sent || sub.state >= subEnding {
		return false, false // already queued (a repeated recipient) or sent by the replay
	}
	if len(sub.queue) >= maxQueued {
		return false, true
	}
	sub.queue = append(sub.queue, ev)
	sub.sent = ev.Seq
	return sub.want(), false
}

// batch is what a writer takes from a stream at once.
type batch struct {
	events []*liveEvent
	online []byte
	ping   bool
	state  subState
	reason endReason
}

// take empties the stream's queue into a batch.
func (sub *subscriber) take() batch {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	b := batch{events: sub.queue, online: sub.onlineNew, ping: sub.ping, state: sub.state, reason: sub.reason}
	sub.queue, sub.spare = sub.spare, nil
	sub.onlineNew, sub.ping = nil, false
	return b
}

// written returns a batch's queue for reuse and reports whether the stream
// has more to write (it then stays scheduled).
func (sub *subscriber) written(b batch) (more bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if cap(b.events) <= 16 && sub.spare == nil {
		clear(b.events) // keep no event alive from here
		sub.spare = b.events[:0]
	}
	sub.wrote = true
	more = sub.state == subLive && sub.pending() ||
		sub.state == subEnding && sub.reason == endDrain
	if !more {
		sub.scheduled = false
	}
	return more
}

// heartbeat asks for a ping if the stream wrote nothing since the last one.
func (sub *subscriber) heartbeat() (schedule bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.state != subLive && sub.state != subStarting {
		return false
	}
	if sub.wrote {
		sub.wrote = false
		return false
	}
	sub.ping = true
	return sub.want()
}

// offerOnline queues the online-list frame unless the stream has it already.
func (sub *subscriber) offerOnline(frame []byte) (schedule bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.state >= subEnding || bytes.Equal(frame, sub.onlineOld) {
		return false
	}
	sub.onlineOld, sub.onlineNew = frame, frame
	return sub.want()
}

// end closes the stream (a drain first says goodbye). It is safe to call more
// than once and from anywhere except under the hub's lock.
func (sub *subscriber) end(reason endReason) {
	sub.mu.Lock()
	if sub.state >= subEnding {
		sub.mu.Unlock()
		return
	}
	prev := sub.state
	sub.state, sub.reason = subEnding, reason
	switch {
	case sub.wake != nil: // owned: its handler says goodbye and cleans up
		select {
		case sub.wake <- struct{}{}:
		default:
		}
		sub.mu.Unlock()
		return
	case prev == subStarting: // its handler sees this at the hand-off
		sub.mu.Unlock()
		return
	case reason == endDrain: // a writer says goodbye, then closes
		schedule := !sub.scheduled
		sub.scheduled = true
		sub.mu.Unlock()
		if schedule {
			sub.hub.run.push(sub)
		}
		return
	}
	sub.mu.Unlock()
	sub.close()
}

// close releases the stream: its connection (if taken over), its place in the
// hub and among the instance's streams. Once.
func (sub *subscriber) close() {
	sub.closeOnce.Do(func() {
		sub.mu.Lock()
		sub.state = subEnded
		conn := sub.conn
		sub.queue, sub.spare, sub.onlineNew, sub.onlineOld = nil, nil, nil, nil
		sub.mu.Unlock()
		if conn != nil {
			sub.hub.watcher.remove(sub, conn) // before the close: the fd must not be reused while watched
			_ = conn.Close()
		}
		sub.hub.remove(sub)
		if sub.hub.streams != nil {
			sub.hub.streams.remove(sub)
		}
	})
}

// drain and kill make a subscriber one of the instance's streams (stream.go).
func (sub *subscriber) drain() { sub.end(endDrain) }
func (sub *subscriber) kill()  { sub.end(endClosed); sub.close() }

// hub fans the instance's one tail of the event stream out to its local streams,
// each receiving only what its node may see. It also keeps the most recent
// events in order, so a browser that reconnects after a short gap resumes from
// memory, without a JetStream request (which, while a failed node's stream
// leadership moves, can take seconds).
type hub struct {
	mu     sync.Mutex
	byNode map[int64][]*subscriber
	// ring holds the last (up to recentEvents) events in stream order, with
	// no gap between them, from ring[oldest] on; n of them.
	ring      []*liveEvent
	oldest, n int

	run       runQueue
	streams   *streams // the instance's streams (Drain), set by start
	watcher   *hangupWatcher
	online    onlineCache
	dashboard struct { // the dashboard's format (it needs the Server)
		once   sync.Once
		format *streamFormat
	}

	startOnce sync.Once
	stopOnce  sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup
}

func newHub() *hub {
	h := &hub{byNode: map[int64][]*subscriber{}, ring: make([]*liveEvent, recentEvents), stop: make(chan struct{})}
	h.run.cond.L = &h.run.mu
	return h
}

// writers is the size of the pool that writes to pooled streams. Writes to
// healthy peers never block, so a few per core would do; more keep the others
// flowing while some wait out writeTimeout on stuck peers.
func writers() int { return max(16, 4*runtime.GOMAXPROCS(0)) }

// start runs the hub's goroutines (on its first stream): the writers, the
// heartbeat, the hang-up watcher and, for the dashboard, the online list.
// Drain stops them.
func (h *hub) start(s *Server) {
	h.startOnce.Do(func() {
		h.streams = s.streams
		if !h.streams.setOnClose(h.shutdown) {
			h.shutdown() // drained already: they start and stop at once
		}
		h.watcher = newHangupWatcher(h.stop)
		for range writers() {
			h.wg.Go(h.writeLoop)
		}
		h.wg.Go(h.heartbeatLoop)
		h.wg.Go(func() { s.onlineLoop(h.stop) })
	})
}

// shutdown stops the hub's goroutines (after Drain closed every stream).
func (h *hub) shutdown() {
	h.stopOnce.Do(func() {
		close(h.stop)
		h.run.close()
	})
}

// newSubscriber makes (but does not add) a stream of node. Pooled streams have
// a format; owned ones get a wake channel.
func (h *hub) newSubscriber(node int64, format *streamFormat, owned bool) *subscriber {
	sub := &subscriber{node: node, hub: h, format: format, online: format != nil && format.online}
	if owned {
		sub.wake = make(chan struct{}, 1)
	}
	return sub
}

// add subscribes a stream and returns, atomically with it, the remembered
// events after lastID (covered is false when the memory does not reach back to
// lastID+1) and the newest sequence dispatched (0: none yet).
func (h *hub) add(sub *subscriber, lastID uint64) (backlog []*liveEvent, covered bool, tail uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sub.sent = lastID
	h.byNode[sub.node] = append(h.byNode[sub.node], sub)
	if h.n > 0 {
		tail = h.at(h.n - 1).Seq
		// Covered when the memory holds lastID or the event right after it.
		// Sequences are not contiguous across stream messages (bus.Message),
		// so one ending a message is not known to precede the next message's
		// first: then the event stream answers, as for an older one.
		if first := h.at(0).Seq; first <= lastID+1 && lastID <= tail {
			covered = true
			i := sort.Search(h.n, func(i int) bool { return h.at(i).Seq > lastID })
			for ; i < h.n; i++ {
				backlog = append(backlog, h.at(i))
			}
		}
	}
	return backlog, covered, tail
}

// at is the i-th remembered event, oldest first (called with mu held).
func (h *hub) at(i int) *liveEvent { return h.ring[(h.oldest+i)%len(h.ring)] }

func (h *hub) remove(sub *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := h.byNode[sub.node]
	for i, x := range list {
		if x == sub {
			list[i] = list[len(list)-1]
			list[len(list)-1] = nil
			list = list[:len(list)-1]
			break
		}
	}
	if len(list) == 0 {
		delete(h.byNode, sub.node)
	} else {
		h.byNode[sub.node] = list
	}
}

func (h *hub) remember(ev *liveEvent) {
	if h.n > 0 && !bus.Follows(h.at(h.n-1).Seq, ev.Seq) {
		h.oldest, h.n = 0, 0 // a gap (the tail restarted): start afresh
	}
	if h.n == len(h.ring) {
		h.ring[h.oldest] = ev
		h.oldest = (h.oldest + 1) % len(h.ring)
		return
	}
	h.ring[(h.oldest+h.n)%len(h.ring)] = ev
	h.n++
}

// dispatch remembers ev and queues it on the streams of its recipients.
func (h *hub) dispatch(ev *liveEvent) {
	var ready, lagging []*subscriber
	offer := func(sub *subscriber) {
		schedule, lag := sub.enqueue(ev)
		if schedule {
			ready = append(ready, sub)
		}
		if lag {
			lagging = append(lagging, sub)
		}
	}
	h.mu.Lock()
	h.remember(ev)
	if ev.Event.ToAll {
		for _, list := range h.byNode {
			for _, sub := range list {
				offer(sub)
			}
		}
	} else if to := ev.Event.To; len(h.byNode) < len(to) && slices.IsSorted(to) {
		// Fewer nodes with streams here than recipients (an instance with
		// few or no streams, a big community): each node is looked up in
		// the list (sorted, as the outbox writes it) instead of each
		// recipient in the map.
		for node, list := range h.byNode {
			if _, found := slices.BinarySearch(to, node); found {
				for _, sub := range list {
					offer(sub)
				}
			}
		}
	} else {
		// The recipients' streams, not every stream: an event to a community
		// of 300 touches at most their streams whatever the instance holds.
		for _, node := range to {
			for _, sub := range h.byNode[node] {
				offer(sub) // a node listed twice is queued once (enqueue skips seq <= sent)
			}
		}
	}
	h.mu.Unlock()
	h.run.push(ready...)
	for _, sub := range lagging {
		sub.end(endLagging)
	}
}

// decodeLiveEvent decodes one message of the event stream (the binary form,
// or the JSON form of events published before it).
func decodeLiveEvent(m bus.Message) (*liveEvent, error) {
	e, err := community.DecodeEvent(m.Data)
	return &liveEvent{Seq: m.Seq, Event: e}, err
}

// pending reports whether sub has something to write (called with mu held).
func (sub *subscriber) pending() bool {
	return len(sub.queue) > 0 || sub.ping || sub.onlineNew != nil
}

// Dispatch hands one event from the stream to every local stream allowed to see it.
func (s *Server) Dispatch(m bus.Message) {
	ev, err := decodeLiveEvent(m)
	if err != nil {
		s.d.Logger.Warn("undecodable event", "seq", m.Seq, "err", err)
		return
	}
	metrics.EventsDispatched.Inc()
	if !ev.Event.At.IsZero() {
		metrics.DeliveryLag.Observe(time.Since(ev.Event.At).Seconds())
	}
	s.hub.dispatch(ev)
}

// EndNodeStreams closes every live stream of node on this instance and returns
// how many it closed: signing out ends the sessions, and a stream opened with
// one must not outlive it. The browser reconnects and is refused.
func (s *Server) EndNodeStreams(node int64) int {
	s.hub.mu.Lock()
	list := append([]*subscriber(nil), s.hub.byNode[node]...)
	s.hub.mu.Unlock()
	for _, sub := range list {
		sub.end(endClosed)
	}
	return len(list)
}

// EndTokenStreams closes the live streams of node on this instance that were
// opened with the access token tokenID, and returns how many: revoking one
// token ends what it opened and leaves the node's other streams alone.
func (s *Server) EndTokenStreams(node, tokenID int64) int {
	s.hub.mu.Lock()
	var list []*subscriber
	for _, sub := range s.hub.byNode[node] {
		if sub.token == tokenID {
			list = append(list, sub)
		}
	}
	s.hub.mu.Unlock()
	for _, sub := range list {
		sub.end(endClosed)
	}
	return len(list)
}

// OnlineNodes lists the nodes with a live stream on this instance.
func (s *Server) OnlineNodes() []int64 {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	out := make([]int64, 0, len(s.hub.byNode))
	for node := range s.hub.byNode {
		out = append(out, node)
	}
	return out
}

// heartbeatLoop is the one timer behind every stream's heartbeat.
func (h *hub) heartbeatLoop() {
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		var ready []*subscriber
		h.mu.Lock()
		for _, list := range h.byNode {
			for _, sub := range list {
				if sub.heartbeat() {
					ready = append(ready, sub)
				}
			}
		}
		h.mu.Unlock()
		h.run.push(ready...)
	}
}

// writeLoop is one of the writers of pooled streams.
func (h *hub) writeLoop() {
	var buf bytes.Buffer
	for {
		sub := h.run.pop()
		if sub == nil {
			return
		}
		if h.flush(sub, &buf) {
			h.run.push(sub) // more came meanwhile: back of the line, for fairness
		}
		if buf.Cap() > 256<<10 {
			buf = bytes.Buffer{} // a huge batch once should not stay allocated
		}
	}
}

// flush writes everything a pooled stream has queued in one write, and reports
// whether it has more to write.
func (h *hub) flush(sub *subscriber, buf *bytes.Buffer) (more bool) {
	b := sub.take()
	if b.state == subEnded {
		return false
	}
	buf.Reset()
	if b.state == subLive || b.reason == endDrain {
		for _, ev := range b.events {
			buf.Write(sub.format.frame(ev, sub.node))
		}
		buf.Write(b.online)
		if b.state == subEnding {
			buf.Write(goodbye)
		}
		if buf.Len() == 0 && b.ping {
			buf.Write(pingFrame)
		}
	}
	if buf.Len() > 0 {
		_ = sub.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := sub.conn.Write(buf.Bytes()); err != nil {
			sub.end(endClosed)
			sub.close()
			return false
		}
		if n := len(b.events); n > 0 {
			metrics.EventsDelivered.Add(float64(n))
		}
	}
	if b.state == subEnding {
		sub.close()
		return false
	}
	return sub.written(b)
}

// runQueue is the FIFO of pooled streams with something to write (cond.L is
// &mu, set by newHub).
type runQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []*subscriber
	head   int
	closed bool
}

func (q *runQueue) push(subs ...*subscriber) {
	if len(subs) == 0 {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, subs...)
	q.mu.Unlock()
	if len(subs) == 1 {
		q.cond.Signal()
	} else {
		q.cond.Broadcast()
	}
}

// pop waits for a stream to write; nil once the queue is closed.
func (q *runQueue) pop() *subscriber {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head == len(q.items) {
		if q.closed {
			return nil
		}
		q.cond.Wait()
	}
	sub := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	switch {
	case q.head == len(q.items):
		q.items, q.head = q.items[:0], 0
	case q.head > 1024 && q.head > len(q.items)/2:
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	return sub
}

func (q *runQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}
