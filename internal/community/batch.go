package community

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nodecommunity/nodecommunity/internal/metrics"
)

// ShareBatcher commits concurrent CreateShare calls together (group commit):
// one statement and one commit for many shares, so one flush of the log and a
// fraction of PostgreSQL's work per share (BenchmarkWritePath: about three
// times the shares per second of a commit per share). Each caller still gets
// its own share or its own error, and a share is acknowledged once it and its
// outbox event are committed; the events are published right after, while
// the callers already have their answers (a failure there is the outbox
// relay's to repair).
//
// There is no timer and no background goroutine: while a batch commits, new
// calls queue up, and the next free flusher takes them all (up to MaxBatch) as
// the next batch. A lone call is written at once, so batching adds no delay
// when the load is light. A flusher is a goroutine started for a queue and
// ending when it is empty, so nothing needs shutting down. The queue holds only
// callers waiting for their answer, so it is bounded by the requests in flight.
type ShareBatcher struct {
	store *Store
	// MaxBatch bounds the shares of one transaction.
	MaxBatch int
	// MaxFlushers bounds the batches committing at once, each on one pooled
	// connection; the rest of the pool stays free for everything else. A
	// second flusher starts only when a whole batch waits (needFlusher).
	MaxFlushers int
	// Timeout bounds one batch (its commit, its events' publishing).
	Timeout time.Duration

	mu        sync.Mutex
	queue     []*pendingShare
	flushers  int
	once      sync.Once
	finishers chan struct{}
	lz4Once   sync.Once
	lz4OK     bool
}

// NewShareBatcher returns a batcher writing through s, with defaults that
// suit a pool of four or more connections: three batches committing at once
// keep PostgreSQL busy while each waits for its flush of the log (make
// bench-load, 64 publishers, medians of two runs: 4,009 shares/s with three,
// 3,726 with two, no better with four), and leave a connection for the rest.
func NewShareBatcher(s *Store) *ShareBatcher {
	return &ShareBatcher{store: s, MaxBatch: 64, MaxFlushers: 3, Timeout: 10 * time.Second}
}

// A pendingShare moves from queued to taken (a flusher writes it) or to
// abandoned (its caller gave up first, and it is never written).
const (
	shareQueued int32 = iota
	shareTaken
	shareAbandoned
)

type pendingShare struct {
	w     *shareWrite
	state atomic.Int32
	err   error // the transaction failed (w.err: the share was refused)
	done  chan struct{}
}

// CreateShare is Store.CreateShare, committed in one transaction with the
// other shares waiting at the same time. If ctx ends before the share is taken
// into a batch, nothing is written; once taken, the call waits for the outcome
// (bounded by Timeout) so that it never reports a committed share as failed.
func (b *ShareBatcher) CreateShare(ctx context.Context, author int64, in ShareInput) (Share, error) {
	w, err := newShareWrite(author, in)
	if err != nil {
		return Share{}, err
	}
	p := &pendingShare{w: w, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	start := b.needFlusher()
	if start {
		b.flushers++
	}
	b.mu.Unlock()
	if start {
		// The batch must not end with the request that happened to start it.
		go b.flush(context.WithoutCancel(ctx))
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		if p.state.CompareAndSwap(shareQueued, shareAbandoned) {
			return Share{}, ctx.Err()
		}
		<-p.done
	}
	if p.err != nil {
		return Share{}, p.err
	}
	if w.err != nil {
		return Share{}, w.err
	}
	return w.share, nil
}

// needFlusher reports whether a flusher should start for the queue: when none
// runs, or when those running cannot keep up (a whole batch waits) and fewer
// than MaxFlushers run. One flusher at a time makes the largest batches, which
// cost PostgreSQL the least per share; a second overlaps its commit with the
// first's only when the load needs it. Called with mu held.
func (b *ShareBatcher) needFlusher() bool {
	return b.flushers == 0 || (b.flushers < b.MaxFlushers && len(b.queue) >= max(b.MaxBatch, 1))
}

// flush writes batches until the queue is empty.
func (b *ShareBatcher) flush(ctx context.Context) {
	for {
		batch := b.take()
		if batch == nil {
			return
		}
		b.commit(ctx, batch)
	}
}

// take removes the next batch from the queue; nil (and one flusher fewer)
// when there is none.
func (b *ShareBatcher) take() []*pendingShare {
	b.mu.Lock()
	defer b.mu.Unlock()
	var batch []*pendingShare
	n := 0
	for ; n < len(b.queue) && len(batch) < min(max(b.MaxBatch, 1), maxBundle); n++ {
		if p := b.queue[n]; p.state.CompareAndSwap(shareQueued, shareTaken) {
			batch = append(batch, p)
		}
	}
	b.queue = append(b.queue[:0], b.queue[n:]...)
	if batch == nil {
		b.flushers--
	}
	return batch
}

// commit writes one batch and answers its callers, then publishes its events
// while the flusher goes on to the next batch (up to MaxFlushers batches are
// published this way at once; beyond that the flusher publishes them itself,
// which holds the next batch back until the stream keeps up).
func (b *ShareBatcher) commit(ctx context.Context, batch []*pendingShare) {
	wctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	ws := make([]*shareWrite, len(batch))
	for i, p := range batch {
		ws[i] = p.w
	}
	if err := writeShares(wctx, b.store.pool, ws, b.lz4(wctx)); err != nil {
		if len(batch) > 1 && rolledBack(err) {
			// One share failed the whole statement (its author was just
			// deleted, say): write each alone, so that one bad share cannot
			// fail the others.
			for _, p := range batch {
				p.err = wrap("create share", writeShares(wctx, b.store.pool, []*shareWrite{p.w}, b.lz4(wctx)))
			}
		} else {
			// Either a lone share, or the outcome is unknown (the connection
			// broke, the time ran out): writing again could write twice.
			for _, p := range batch {
				p.err = wrap("create share", err)
			}
		}
	}
	var events []Event
	for _, p := range batch {
		if p.err == nil && p.w.err == nil {
			events = append(events, p.w.event)
		}
	}
	// Committed is acknowledged: the outbox owes every event to the stream
	// (the relay publishes what this instance does not). Answering before
	// the stream's acknowledgement frees each caller a JetStream round trip
	// sooner, so more calls wait for the next batch and each commit carries
	// more shares.
	for _, p := range batch {
		close(p.done)
	}
	select {
	case b.finishing() <- struct{}{}:
		go func() {
			defer func() { <-b.finishers }()
			b.finish(ctx, events)
		}()
	default:
		b.finish(ctx, events)
	}
}

// lz4 reports whether batches may compress with lz4 (see writeShares), asking
// PostgreSQL once; if it cannot be asked, batches keep the server's default.
func (b *ShareBatcher) lz4(ctx context.Context) bool {
	b.lz4Once.Do(func() {
		var err error
		if b.lz4OK, err = serverHasLZ4(ctx, b.store.pool); err != nil {
			b.store.logger().Warn("ask PostgreSQL for lz4 compression; using its default", "err", err)
		}
	})
	return b.lz4OK
}

// rolledBack reports whether err means for certain that nothing was written:
// PostgreSQL refused the statement (and rolled it back), or it was never sent.
func rolledBack(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) || pgconn.SafeToRetry(err)
}

// finishing is the semaphore of batches being finished, made on first use.
func (b *ShareBatcher) finishing() chan struct{} {
	b.once.Do(func() { b.finishers = make(chan struct{}, max(b.MaxFlushers, 1)) })
	return b.finishers
}

// finish publishes a committed batch's events and marks them published.
func (b *ShareBatcher) finish(ctx context.Context, events []Event) {
	ctx, cancel := context.WithTimeout(ctx, b.Timeout)
	defer cancel()
	published := b.store.publishConcurrently(ctx, events)
	if err := b.store.markPublished(ctx, published); err != nil {
		b.store.logger().Warn("mark events published", "err", err)
	}
}

// maxBundle is the most events one stream message carries (bus.MaxBundle):
// a batch is one bundle.
const maxBundle = 256

// publishConcurrently publishes a committed batch's events — as one bundle
// when they were committed as one (Event.Bundle) and the publisher takes
// bundles, else at once rather than one after the other — and returns the
// ids of those published. Their order on the stream is not their commit
// order, as for concurrent Store.CreateShare calls; a failure is left to the
// outbox relay.
func (s *Store) publishConcurrently(ctx context.Context, events []Event) []int64 {
	if !s.canPublish(events) {
		return nil
	}
	ok := make([]bool, len(events))
	if bp, bundles := s.pub.(BundlePublisher); bundles && oneBundle(events) {
		sent := s.publishBundle(ctx, bp, events)
		for i := range ok {
			ok[i] = sent
		}
	} else {
		var wg sync.WaitGroup
		for i, e := range events {
			wg.Go(func() { ok[i] = s.publishOne(ctx, e) })
		}
		wg.Wait()
	}
	var done []int64
	for i, e := range events {
		if ok[i] {
			done = append(done, e.ID)
		}
	}
	metrics.EventsPublished.Add(float64(len(done)))
	return done
}
