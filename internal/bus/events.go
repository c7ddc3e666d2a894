package bus

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// The event stream keeps every event published on nc.evt.> for a bounded time,
// in one total order (the stream sequence). Live delivery and resume after a
// disconnect both read it, so a client that reconnects to any instance gets the
// events it missed in the order everyone saw them.
const (
	StreamName    = "NC_EVENTS"
	EventSubjects = "nc.evt.>"
	// StreamMaxAge bounds resume: a client away longer gets a "reload".
	StreamMaxAge = 24 * time.Hour
	// DuplicateWindow must outlast the outbox relay's retries so a re-publish of
	// an event JetStream already has is dropped, not stored twice.
	DuplicateWindow = 10 * time.Minute
)

// Events publishes to and reads from the event stream.
type Events struct {
	nc       *nats.Conn
	js       jetstream.JetStream
	replicas int
	log      *slog.Logger
	ready    atomic.Bool
}

// NewEvents prepares the stream API; EnsureStream must succeed before use.
func NewEvents(b *Bus, replicas int, log *slog.Logger) (*Events, error) {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	if replicas < 1 {
		replicas = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Events{nc: b.nc, js: js, replicas: replicas, log: log}, nil
}

// EnsureStream creates or updates the stream, retrying until ctx ends: in a
// cluster that is still forming there is no JetStream leader yet. When the
// wanted number of replicas cannot be placed (peers are down), it settles for
// fewer after a while, so the instance can work, and keeps trying to raise the
// count in the background until ctx ends.
func (e *Events) EnsureStream(ctx context.Context) error {
	replicas := e.replicas
	for attempt := 1; ; attempt++ {
		err := e.createStream(ctx, replicas)
		if err == nil {
			e.ready.Store(true)
			if replicas < e.replicas {
				e.log.Warn("event stream has fewer replicas than wanted", "replicas", replicas, "wanted", e.replicas)
				go e.raiseReplicas(ctx)
			}
			return nil
		}
		if attempt%10 == 0 {
			e.log.Info("event stream not ready yet", "err", err, "replicas", replicas)
			if replicas > 1 {
				replicas--
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("event stream: %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (e *Events) raiseReplicas(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
		if e.createStream(ctx, e.replicas) == nil {
			e.log.Info("event stream replicas raised", "replicas", e.replicas)
			return
		}
	}
}

func (e *Events) createStream(ctx context.Context, replicas int) error {
	cfg := jetstream.StreamConfig{
		Name:       StreamName,
		Subjects:   []string{EventSubjects},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     StreamMaxAge,
		MaxMsgs:    5_000_000,
		Duplicates: DuplicateWindow,
		Replicas:   replicas,
		Discard:    jetstream.DiscardOld,
	}
	// Short attempts: without a JetStream leader a request just times out.
	actx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := e.js.CreateOrUpdateStream(actx, cfg)
	return err
}

// Connected reports whether a publish can succeed now: the stream exists and
// the connection is up. Writers skip the immediate publish otherwise and leave
// the event to the outbox relay, instead of waiting out a publish timeout.
func (e *Events) Connected() bool { return e.ready.Load() && e.nc.IsConnected() }

// Ready reports whether the stream exists.
func (e *Events) Ready() bool { return e.ready.Load() }

// Publish stores one event; id (the outbox id) makes a repeated publish a no-op.
// It returns the event's sequence (see Message).
func (e *Events) Publish(ctx context.Context, subject string, id int64, data []byte) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ack, err := e.js.Publish(ctx, subject, data, jetstream.WithMsgID("evt-"+strconv.FormatInt(id, 10)))
	if err != nil {
		return 0, fmt.Errorf("publish %s: %w", subject, err)
	}
	return ack.Sequence << bundleBits, nil
}

// MaxBundle is the most events one stream message carries (PublishBundle).
const MaxBundle = 1 << bundleBits

// bundleBits: an event's sequence is its message's stream sequence shifted
// left by bundleBits, plus its place in the message.
const bundleBits = 8

// BundleSubject is the subject of messages carrying several events.
const BundleSubject = "nc.evt.bundle"

// partsHeader gives the number of events a bundle carries.
const partsHeader = "Nc-Parts"

// PublishBundle stores events (at most MaxBundle) as one stream message, in
// that order: everything the stream costs per message — the replicas'
// agreement, the copy each instance's tail receives, the acknowledgement — is
// paid once for all of them (a group commit's events: about a third of the
// machine's time went there when each was a message). id names the bundle
// (the outbox's bundle key): a repeated publish is a no-op as for one event,
// so it must always be the same events.
func (e *Events) PublishBundle(ctx context.Context, id int64, events [][]byte) error {
	if len(events) == 0 || len(events) > MaxBundle {
		return fmt.Errorf("publish bundle: %d events (1 to %d)", len(events), MaxBundle)
	}
	size := 0
	for _, ev := range events {
		size += binary.MaxVarintLen64 + len(ev)
	}
	data := make([]byte, 0, size)
	for _, ev := range events {
		data = binary.AppendUvarint(data, uint64(len(ev)))
		data = append(data, ev...)
	}
	msg := nats.NewMsg(BundleSubject)
	msg.Header.Set(partsHeader, strconv.Itoa(len(events)))
	msg.Data = data
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := e.js.PublishMsg(ctx, msg, jetstream.WithMsgID("evb-"+strconv.FormatInt(id, 10))); err != nil {
		return fmt.Errorf("publish bundle: %w", err)
	}
	return nil
}

// Message is one event as read from the stream. Seq orders events: the
// stream sequence of the message that carried it, shifted left by
// bundleBits, plus its place among the message's events (0 for a message
// with one). Sequences grow but are not contiguous.
type Message struct {
	Seq  uint64
	Data []byte
	Time time.Time
}

// Split calls fn for each event of the stream message with sequence seq,
// header h and data: one, or a bundle's. A bundle that cannot be read is an
// error (nothing of it is given to fn).
func Split(seq uint64, h nats.Header, data []byte, at time.Time, fn func(Message) error) error {
	parts := h.Get(partsHeader)
	if parts == "" {
		return fn(Message{Seq: seq << bundleBits, Data: data, Time: at})
	}
	n, err := strconv.Atoi(parts)
	if err != nil || n < 1 || n > MaxBundle {
		return fmt.Errorf("stream message %d: bad %s %q", seq, partsHeader, parts)
	}
	events := make([][]byte, 0, n)
	for rest := data; len(rest) > 0; {
		size, k := binary.Uvarint(rest)
		if k <= 0 || size > uint64(len(rest)-k) {
			return fmt.Errorf("stream message %d: truncated bundle", seq)
		}
		events = append(events, rest[k:k+int(size)])
		rest = rest[k+int(size):]
	}
	if len(events) != n {
		return fmt.Errorf("stream message %d: %d events, header says %d", seq, len(events), n)
	}
	for i, ev := range events {
		if err := fn(Message{Seq: seq<<bundleBits | uint64(i), Data: ev, Time: at}); err != nil {
			return err
		}
	}
	return nil
}

// Follows reports whether event next can come right after event prev in the
// stream: the next in the same message, or the first of the next message
// (whether prev was the last of its message cannot be told from the numbers;
// a stream message is delivered whole).
func Follows(prev, next uint64) bool {
	if next == prev+1 {
		return true
	}
	return next&(MaxBundle-1) == 0 && streamSeq(next) == streamSeq(prev)+1
}

// streamSeq is the stream sequence of the message that carried event seq.
func streamSeq(seq uint64) uint64 { return seq >> bundleBits }

// Bounds are the first and last event sequences the stream holds now (0, 0
// when empty): the first message's first event and, since a message's size
// is not known without reading it, the highest sequence its last message's
// events could have.
func (e *Events) Bounds(ctx context.Context) (first, last uint64, err error) {
	err = attempts(ctx, func(ctx context.Context) error {
		s, err := e.js.Stream(ctx, StreamName)
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		first, last = info.State.FirstSeq<<bundleBits, info.State.LastSeq<<bundleBits
		if info.State.LastSeq > 0 {
			last |= MaxBundle - 1
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("event stream: %w", err)
	}
	return first, last, nil
}

// attemptTimeout bounds one JetStream request. While a killed node's stream
// leadership moves, a request can go unanswered; a short attempt and a retry
// get through in a few seconds instead of waiting out the caller's deadline.
const attemptTimeout = 2 * time.Second

// attempts runs fn with a short deadline per try until it succeeds or ctx ends.
func attempts(ctx context.Context, fn func(ctx context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Ordered consumers live on the stream until they have been idle this long
// (nats.go's default is 5 minutes). A tail is idle only when its instance is
// gone or cut off (it then makes a new consumer when back); a replay once it
// is done, and it waits at most 2 s between fetches. With the default, an
// instance's restarts and every stream's reconnection left consumers behind
// for minutes: 602 on the benchmark cluster's stream after a few runs.
const (
	tailIdleLimit   = 30 * time.Second
	replayIdleLimit = 10 * time.Second
)

// Tail calls fn for every event published from now on, in stream order, until
// ctx ends. It survives server restarts and leader changes (ordered consumer).
func (e *Events) Tail(ctx context.Context, fn func(Message)) error {
	c, err := e.js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{
		DeliverPolicy:     jetstream.DeliverNewPolicy,
		InactiveThreshold: tailIdleLimit,
	})
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	cc, err := c.Consume(func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return
		}
		err = Split(md.Sequence.Stream, m.Headers(), m.Data(), md.Timestamp, func(m Message) error {
			fn(m)
			return nil
		})
		if err != nil {
			e.log.Warn("event tail: unreadable stream message", "err", err)
		}
	})
	if err != nil {
		return fmt.Errorf("tail: %w", err)
	}
	<-ctx.Done()
	cc.Stop()
	return nil
}

// ErrGone means the events after a sequence are no longer all in the stream.
var ErrGone = errors.New("events expired from the stream")

// Replay calls fn for every event with from <= seq <= to, in order. It returns
// ErrGone when from is older than the oldest event kept.
func (e *Events) Replay(ctx context.Context, from, to uint64, fn func(Message) error) error {
	if from > to {
		return nil
	}
	first, _, err := e.Bounds(ctx)
	if err != nil {
		return err
	}
	// Before the first message kept, events are gone — unless the stream never
	// dropped one (its first message is still message 1): then nothing can
	// have been missed there.
	if first == 0 || (from < first && streamSeq(first) > 1) {
		return ErrGone
	}
	// In stream sequences: the messages carrying from and to.
	end := streamSeq(to)
	var done = errors.New("replay done")
	emit := func(m Message) error {
		if m.Seq < from {
			return nil
		}
		if m.Seq > to {
			return done
		}
		return fn(m)
	}
	var c jetstream.Consumer
	err = attempts(ctx, func(ctx context.Context) error {
		var err error
		c, err = e.js.OrderedConsumer(ctx, StreamName, jetstream.OrderedConsumerConfig{
			DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:       max(streamSeq(from), 1),
			InactiveThreshold: replayIdleLimit,
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	// Every sequence up to `to` exists (Bounds said so), so an empty fetch is
	// a slow server, not the end: try again a few times before giving up
	// loudly — never end early and let the caller think it is complete.
	for empty := 0; ; {
		batch, err := c.Fetch(256, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			if md.Sequence.Stream > end {
				return nil
			}
			err = Split(md.Sequence.Stream, m.Headers(), m.Data(), md.Timestamp, emit)
			if errors.Is(err, done) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			if md.Sequence.Stream == end {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, nats.ErrTimeout) {
			return fmt.Errorf("replay: %w", err)
		}
		if n > 0 {
			empty = 0
			continue
		}
		if empty++; empty >= 5 {
			return fmt.Errorf("replay: events %d..%d did not arrive", from, to)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
