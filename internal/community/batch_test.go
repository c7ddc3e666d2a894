package community

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/nodecommunity/nodecommunity/internal/bus"
)

// TestShareWriteMatchesStoredShare checks that the share CreateShare and
// Reshare build from one statement's answer is the share as read back, and
// that its outbox event carries exactly it.
func TestShareWriteMatchesStoredShare(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	f.connect(ana, ben)
	for _, c := range []CommunityInput{{Name: "Platform", Open: true}, {Name: "Secret", Open: false}} {
		if _, err := f.store.CreateCommunity(ctx, ana, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.store.JoinCommunity(ctx, ben, "platform"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.pool.Exec(ctx, `UPDATE nodes SET deactivated_at = now() WHERE id = $1`, f.node("gone")); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, sh Share) {
		t.Helper()
		stored, err := f.store.FindShare(ctx, sh.Author.ID, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		created := sh.CreatedAt
		if !sh.CreatedAt.Equal(stored.CreatedAt) {
			t.Errorf("created_at = %v, want %v", sh.CreatedAt, stored.CreatedAt)
		}
		sh.CreatedAt, stored.CreatedAt = time.Time{}, time.Time{}
		if sh.Origin != nil && stored.Origin != nil && sh.Origin.CreatedAt.Equal(stored.Origin.CreatedAt) {
			sh.Origin.CreatedAt, stored.Origin.CreatedAt = time.Time{}, time.Time{}
		}
		if !reflect.DeepEqual(sh, stored) {
			t.Errorf("returned %+v\nstored   %+v", sh, stored)
		}
		var payload []byte
		var subject string
		if err := f.pool.QueryRow(ctx, `SELECT subject, payload FROM events WHERE type = 'share.created' AND (payload->>'id')::bigint = $1`, sh.ID).Scan(&subject, &payload); err != nil {
			t.Fatalf("outbox event of share %d: %v", sh.ID, err)
		}
		var inOutbox Share
		if err := json.Unmarshal(payload, &inOutbox); err != nil {
			t.Fatal(err)
		}
		if !inOutbox.CreatedAt.Equal(created) {
			t.Errorf("outbox created_at = %v, want %v", inOutbox.CreatedAt, created)
		}
		inOutbox.CreatedAt = time.Time{}
		if inOutbox.Origin != nil {
			inOutbox.Origin.CreatedAt = time.Time{}
		}
		if !reflect.DeepEqual(inOutbox, sh) || subject != shareSubject(sh) {
			t.Errorf("outbox event on %s: %+v, want %+v on %s", subject, inOutbox, sh, shareSubject(sh))
		}
	}
	var first Share
	cases := []struct {
		name   string
		author int64
		in     ShareInput
	}{
		{"community with a mention, a tag and a deactivated mention", ana, ShareInput{Body: "Deploy #ops @Dan @gone", CommunitySlug: "Platform"}},
		{"connections", ana, ShareInput{Body: "Coffee? @ben", Audience: "connections"}},
		{"everyone", dan, ShareInput{Body: "All hands #meta", Audience: "everyone"}},
		{"invite-only community", ana, ShareInput{Body: "Shortlist @cleo", CommunitySlug: "secret"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sh, err := f.store.CreateShare(ctx, tc.author, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			check(t, sh)
			if first.ID == 0 {
				first = sh
			}
		})
	}
	t.Run("reshare of a reshare", func(t *testing.T) {
		r1, err := f.store.Reshare(ctx, ben, first.ID, "platform", "worth a read @cleo")
		if err != nil {
			t.Fatal(err)
		}
		check(t, r1)
		_, err = f.store.Reshare(ctx, cleo, r1.ID, "platform", "")
		wantErr(t, err, ErrForbidden) // cleo is no member of platform
		r2, err := f.store.Reshare(ctx, ana, r1.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		check(t, r2)
		if r2.Origin == nil || r2.Origin.ID != first.ID || r2.ParentID == nil || *r2.ParentID != r1.ID {
			t.Errorf("reshare chain = parent %v origin %+v, want parent %d origin %d", r2.ParentID, r2.Origin, r1.ID, first.ID)
		}
	})
	t.Run("recipients", func(t *testing.T) {
		var to []int64
		if err := f.pool.QueryRow(ctx, `SELECT to_nodes FROM events WHERE type = 'share.created' AND (payload->>'id')::bigint = $1`, first.ID).Scan(&to); err != nil {
			t.Fatal(err)
		}
		if want := []int64{ana, ben, dan}; !slices.Equal(to, want) {
			t.Errorf("to = %v, want the members and the mentioned (open community) %v", to, want)
		}
	})
}

// batchFixture is a database with members of an open community, and a batcher.
type batchFixture struct {
	*netFixture
	batcher *ShareBatcher
	members []int64
}

func newBatchFixture(t *testing.T, members int) *batchFixture {
	f := &batchFixture{netFixture: newNetFixture(t)}
	f.batcher = NewShareBatcher(f.store)
	ctx := context.Background()
	for i := range members {
		f.members = append(f.members, f.node(fmt.Sprintf("member%d", i)))
	}
	if _, err := f.store.CreateCommunity(ctx, f.members[0], CommunityInput{Name: "Batch", Open: true}); err != nil {
		t.Fatal(err)
	}
	for _, m := range f.members[1:] {
		if _, err := f.store.JoinCommunity(ctx, m, "batch"); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *batchFixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func TestShareBatcherConcurrentCallers(t *testing.T) {
	f := newBatchFixture(t, 8)
	ctx := context.Background()
	const callers = 48
	shares := make([]Share, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			shares[i], errs[i] = f.batcher.CreateShare(ctx, f.members[i%len(f.members)],
				ShareInput{Body: fmt.Sprintf("share %02d #batch", i), CommunitySlug: "batch"})
		})
	}
	wg.Wait()
	ids := map[int64]bool{}
	for i, sh := range shares {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if want := fmt.Sprintf("share %02d #batch", i); sh.Body != want || sh.Author.ID != f.members[i%len(f.members)] {
			t.Errorf("caller %d got %q by %d, want its own share %q by %d", i, sh.Body, sh.Author.ID, want, f.members[i%len(f.members)])
		}
		if ids[sh.ID] {
			t.Errorf("share id %d returned twice", sh.ID)
		}
		ids[sh.ID] = true
	}
	t.Run("one outbox event per share, matching it", func(t *testing.T) {
		if n := f.count(`SELECT count(*) FROM shares`); n != callers {
			t.Errorf("%d shares written, want %d", n, callers)
		}
		if n := f.count(`SELECT count(*) FROM events e JOIN shares s ON s.id = (e.payload->>'id')::bigint
			WHERE e.type = 'share.created' AND e.payload->>'body' = s.body AND e.subject = 'nc.evt.community.batch'
			AND e.to_nodes @> $1`, f.members); n != callers {
			t.Errorf("%d events match their share, want %d", n, callers)
		}
	})
	t.Run("every event published and marked", func(t *testing.T) {
		// Published right after the answers, not before them.
		waitUntil(t, func() bool {
			f.pub.mu.Lock()
			defer f.pub.mu.Unlock()
			return len(f.pub.events) >= callers
		})
		waitUntil(t, func() bool {
			return f.count(`SELECT count(*) FROM events e JOIN events_pending p ON p.id = e.id WHERE e.type = 'share.created'`) == 0
		})
	})
	t.Run("flushers end with the queue", func(t *testing.T) {
		waitUntil(t, func() bool {
			f.batcher.mu.Lock()
			defer f.batcher.mu.Unlock()
			return f.batcher.flushers == 0 && len(f.batcher.queue) == 0
		})
	})
}

// waitUntil polls cond for a few seconds (an event's publishing and its mark
// follow the answer to its caller).
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitAnswered waits until every caller of a batch has its answer.
func waitAnswered(t *testing.T, batch []*pendingShare) {
	t.Helper()
	for i, p := range batch {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("share %d: caller not answered within 10s", i)
		}
	}
}

func TestShareBatcherFailures(t *testing.T) {
	f := newBatchFixture(t, 3)
	ctx := context.Background()
	outsider := f.node("outsider")
	if _, err := f.store.CreateCommunity(ctx, f.members[0], CommunityInput{Name: "Closed", Open: false}); err != nil {
		t.Fatal(err)
	}
	pending := func(author int64, in ShareInput) *pendingShare {
		t.Helper()
		w, err := newShareWrite(author, in)
		if err != nil {
			t.Fatal(err)
		}
		p := &pendingShare{w: w, done: make(chan struct{})}
		p.state.Store(shareTaken)
		return p
	}
	before := f.count(`SELECT count(*) FROM shares`)

	t.Run("invalid input is refused before anything is queued", func(t *testing.T) {
		_, err := f.batcher.CreateShare(ctx, f.members[0], ShareInput{Body: "  ", CommunitySlug: "batch"})
		wantField(t, err, "body")
		_, err = f.batcher.CreateShare(ctx, f.members[0], ShareInput{Body: "x", Audience: "friends"})
		wantField(t, err, "audience")
		_, err = f.batcher.CreateShare(ctx, f.members[0], ShareInput{Body: "nul \x00 inside", Audience: "everyone"})
		wantField(t, err, "body")
		if len(f.batcher.queue) != 0 {
			t.Errorf("queue holds %d, want nothing queued", len(f.batcher.queue))
		}
	})

	t.Run("refused shares in a batch fail alone", func(t *testing.T) {
		batch := []*pendingShare{
			pending(f.members[0], ShareInput{Body: "first", CommunitySlug: "batch"}),
			pending(outsider, ShareInput{Body: "not a member", CommunitySlug: "batch"}),
			pending(outsider, ShareInput{Body: "cannot see it", CommunitySlug: "closed"}),
			pending(f.members[1], ShareInput{Body: "last", CommunitySlug: "batch"}),
		}
		f.batcher.commit(ctx, batch)
		waitAnswered(t, batch)
		if batch[0].err != nil || batch[0].w.err != nil || batch[3].err != nil || batch[3].w.err != nil {
			t.Fatalf("the good shares failed: %v %v / %v %v", batch[0].err, batch[0].w.err, batch[3].err, batch[3].w.err)
		}
		wantErr(t, batch[1].w.err, ErrForbidden)
		wantField(t, batch[2].w.err, "community_slug")
		if got := f.count(`SELECT count(*) FROM shares WHERE body IN ('first', 'last')`); got != 2 {
			t.Errorf("%d of the good shares written, want 2", got)
		}
		if got := f.count(`SELECT count(*) FROM shares WHERE author_id = $1`, outsider); got != 0 {
			t.Errorf("%d refused shares written, want 0", got)
		}
	})

	t.Run("a share failing its transaction does not fail the others", func(t *testing.T) {
		// An author deleted after the check: the insert violates a foreign key.
		ghost := f.node("ghost")
		if _, err := f.pool.Exec(ctx, `DELETE FROM nodes WHERE id = $1`, ghost); err != nil {
			t.Fatal(err)
		}
		batch := []*pendingShare{
			pending(f.members[0], ShareInput{Body: "before the ghost", Audience: "everyone"}),
			pending(ghost, ShareInput{Body: "from a ghost", Audience: "everyone"}),
			pending(f.members[2], ShareInput{Body: "after the ghost", Audience: "everyone"}),
		}
		f.batcher.commit(ctx, batch)
		waitAnswered(t, batch)
		for _, i := range []int{0, 2} {
			if batch[i].err != nil || batch[i].w.err != nil {
				t.Errorf("share %d: %v %v, want it written", i, batch[i].err, batch[i].w.err)
			}
		}
		if batch[1].err == nil {
			t.Error("the ghost's share did not fail")
		}
		var ve *ValidationError
		if errors.As(batch[1].err, &ve) || errors.Is(batch[1].err, ErrForbidden) {
			t.Errorf("the ghost's share: %v, want a database error", batch[1].err)
		}
		if got := f.count(`SELECT count(*) FROM shares WHERE body IN ('before the ghost', 'after the ghost')`); got != 2 {
			t.Errorf("%d of the good shares written, want 2", got)
		}
		if got := f.count(`SELECT count(*) FROM events WHERE payload->>'body' IN ('before the ghost', 'after the ghost')`); got != 2 {
			t.Errorf("%d events of the good shares, want 2", got)
		}
	})

	t.Run("a share whose caller gave up before its batch is never written", func(t *testing.T) {
		p := pending(f.members[0], ShareInput{Body: "abandoned", Audience: "everyone"})
		p.state.Store(shareAbandoned)
		f.batcher.mu.Lock()
		f.batcher.queue = append(f.batcher.queue, p)
		f.batcher.flushers++
		f.batcher.mu.Unlock()
		if batch := f.batcher.take(); batch != nil {
			t.Errorf("took %d abandoned shares", len(batch))
		}
		if f.batcher.flushers != 0 || len(f.batcher.queue) != 0 {
			t.Errorf("flushers %d, queue %d after an empty take, want 0, 0", f.batcher.flushers, len(f.batcher.queue))
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := f.batcher.CreateShare(cctx, f.members[0], ShareInput{Body: "too late", Audience: "everyone"}); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want the share or context.Canceled", err)
		}
	})

	t.Run("nothing else was written", func(t *testing.T) {
		waitUntil(t, func() bool {
			f.batcher.mu.Lock()
			defer f.batcher.mu.Unlock()
			return f.batcher.flushers == 0
		})
		got := f.count(`SELECT count(*) FROM shares`) - before
		tooLate := f.count(`SELECT count(*) FROM shares WHERE body = 'too late'`)
		if want := 4 + tooLate; got != want {
			t.Errorf("%d shares written, want %d", got, want)
		}
		if n := f.count(`SELECT count(*) FROM shares WHERE body = 'abandoned'`); n != 0 {
			t.Errorf("the abandoned share was written")
		}
	})
}

func TestShareBatcherFlushers(t *testing.T) {
	b := &ShareBatcher{MaxBatch: 4, MaxFlushers: 2}
	cases := []struct {
		name     string
		flushers int
		queued   int
		want     bool
	}{
		{"none running", 0, 1, true},
		{"one running, less than a batch waiting", 1, 3, false},
		{"one running, a whole batch waiting", 1, 4, true},
		{"all running", 2, 10, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b.flushers, b.queue = tc.flushers, make([]*pendingShare, tc.queued)
			if got := b.needFlusher(); got != tc.want {
				t.Errorf("needFlusher() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRolledBack(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"refused by PostgreSQL", fmt.Errorf("x: %w", &pgconn.PgError{Code: "23503"}), true},
		{"time ran out", context.DeadlineExceeded, false},
		{"connection broke", errors.New("unexpected EOF"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := rolledBack(tc.err); got != tc.want {
				t.Errorf("rolledBack(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestShareBatcherCompressesWithLZ4(t *testing.T) {
	f := newBatchFixture(t, 2)
	ctx := context.Background()
	// A community big enough that its events' recipient lists are compressed.
	if _, err := f.pool.Exec(ctx, `WITH n AS (INSERT INTO nodes (handle, display_name)
			SELECT 'big' || i, 'Big ' || i FROM generate_series(1, 300) i RETURNING id)
		INSERT INTO community_members (community_id, node_id) SELECT (SELECT id FROM communities WHERE slug = 'batch'), id FROM n`); err != nil {
		t.Fatal(err)
	}
	hasLZ4, err := serverHasLZ4(ctx, f.pool)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := f.batcher.CreateShare(ctx, f.members[0], ShareInput{Body: "to a big community", CommunitySlug: "batch"})
	if err != nil {
		t.Fatal(err)
	}
	var method *string
	var recipients int
	if err := f.pool.QueryRow(ctx, `SELECT pg_column_compression(to_nodes), cardinality(to_nodes) FROM events
		WHERE type = 'share.created' AND (payload->>'id')::bigint = $1`, sh.ID).Scan(&method, &recipients); err != nil {
		t.Fatal(err)
	}
	if recipients != 302 {
		t.Errorf("%d recipients, want 302", recipients)
	}
	want := "pglz" // the server's default
	if hasLZ4 {
		want = "lz4"
	}
	if method == nil || *method != want {
		t.Errorf("to_nodes compressed with %v, want %s (server has lz4: %v)", method, want, hasLZ4)
	}
	if _, err := f.store.CreateShare(ctx, f.members[1], ShareInput{Body: "alone, as before", CommunitySlug: "batch"}); err != nil {
		t.Fatal(err)
	}
	var def string
	if err := f.pool.QueryRow(ctx, `SHOW default_toast_compression`).Scan(&def); err != nil || def != "pglz" {
		t.Errorf("default_toast_compression = %q, %v: the batch's setting must end with its transaction", def, err)
	}
}

// bundlingPublisher records bundles as well as single events.
type bundlingPublisher struct {
	recordingPublisher
	bundles map[int64][]Event // by name
	order   []int64
}

func (p *bundlingPublisher) PublishBundle(_ context.Context, id int64, data [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		return errors.New("nats away")
	}
	var events []Event
	for _, d := range data {
		e, err := DecodeEvent(d)
		if err != nil {
			return err
		}
		events = append(events, e)
	}
	if p.bundles == nil {
		p.bundles = map[int64][]Event{}
	}
	if _, ok := p.bundles[id]; ok {
		return nil // a repeat: the stream drops it
	}
	p.bundles[id] = events
	p.order = append(p.order, id)
	return nil
}

// TestEventBundles: a batch's events are published as one bundle named by
// the smallest event id, a lone share's event alone; what could not be
// published is republished by the relay as the same bundles, whole, also
// when its batch limit falls inside bundles, and in order.
func TestEventBundles(t *testing.T) {
	f := newBatchFixture(t, 2)
	pub := &bundlingPublisher{}
	f.store.SetPublisher(pub, nil)
	ctx := context.Background()
	batch := func(n int, tag string) []*pendingShare {
		t.Helper()
		var ps []*pendingShare
		for i := range n {
			w, err := newShareWrite(f.members[i%2], ShareInput{Body: fmt.Sprintf("%s %d", tag, i), CommunitySlug: "batch"})
			if err != nil {
				t.Fatal(err)
			}
			p := &pendingShare{w: w, done: make(chan struct{})}
			p.state.Store(shareTaken)
			ps = append(ps, p)
		}
		f.batcher.commit(ctx, ps)
		waitAnswered(t, ps)
		for _, p := range ps {
			if p.err != nil || p.w.err != nil {
				t.Fatalf("%s: %v %v", tag, p.err, p.w.err)
			}
		}
		return ps
	}
	// checkBundle: the bundle named by the batch's smallest event id holds
	// exactly its events, in id order.
	checkBundle := func(ps []*pendingShare) {
		t.Helper()
		ids := make([]int64, len(ps))
		for i, p := range ps {
			ids[i] = p.w.event.ID
		}
		slices.Sort(ids)
		waitUntil(t, func() bool {
			pub.mu.Lock()
			defer pub.mu.Unlock()
			return len(pub.bundles[ids[0]]) > 0
		})
		pub.mu.Lock()
		defer pub.mu.Unlock()
		var got []int64
		for _, e := range pub.bundles[ids[0]] {
			got = append(got, e.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("bundle %d holds %v, want %v", ids[0], got, ids)
		}
		if n := f.count(`SELECT count(*) FROM events WHERE bundle = $1 AND id = ANY($2)`, ids[0], ids); n != len(ids) {
			t.Errorf("%d of the batch's %d events carry the bundle's name", n, len(ids))
		}
	}

	t.Run("a batch is one bundle, a lone share travels alone", func(t *testing.T) {
		checkBundle(batch(3, "three"))
		lone := batch(1, "lone")
		waitUntil(t, func() bool {
			pub.mu.Lock()
			defer pub.mu.Unlock()
			return len(pub.events) == 1
		})
		if pub.last().ID != lone[0].w.event.ID {
			t.Errorf("the lone event was not published alone")
		}
		if n := f.count(`SELECT count(*) FROM events WHERE id = $1 AND bundle IS NULL`, lone[0].w.event.ID); n != 1 {
			t.Error("the lone event has a bundle")
		}
		waitUntil(t, func() bool { return f.count(`SELECT count(*) FROM events_pending`) == 0 })
	})

	t.Run("the relay republishes whole bundles", func(t *testing.T) {
		pub.mu.Lock()
		pub.fail = true
		pub.mu.Unlock()
		var batches [][]*pendingShare
		for i := range 4 { // 256 events: the relay's limit (200) falls inside the fourth
			batches = append(batches, batch(64, fmt.Sprintf("batch %d", i)))
		}
		lone := batch(1, "lone again")
		if n := f.count(`SELECT count(*) FROM events_pending`); n != 257 {
			t.Fatalf("%d events unpublished, want 257", n)
		}
		pub.mu.Lock()
		pub.fail = false
		bundlesBefore := len(pub.order)
		pub.mu.Unlock()
		n, err := f.store.relayBatch(ctx, 0)
		if err != nil || n != 256 {
			t.Fatalf("relay: %d, %v; want the first 200 events and the rest of the bundles cut: 256", n, err)
		}
		for _, b := range batches {
			checkBundle(b)
		}
		if n, err := f.store.relayBatch(ctx, 0); err != nil || n != 1 || pub.last().ID != lone[0].w.event.ID {
			t.Fatalf("relay: %d, %v; want the lone event", n, err)
		}
		pub.mu.Lock()
		defer pub.mu.Unlock()
		if got := pub.order[bundlesBefore:]; len(got) != 4 || !slices.IsSorted(got) {
			t.Errorf("bundles published %v, want 4 in order", got)
		}
		if n := f.count(`SELECT count(*) FROM events_pending`); n != 0 {
			t.Errorf("%d events left unpublished", n)
		}
	})
}

func TestMaxBundleIsTheStreams(t *testing.T) {
	if maxBundle != bus.MaxBundle {
		t.Errorf("maxBundle = %d, bus.MaxBundle = %d: a batch must fit one stream message", maxBundle, bus.MaxBundle)
	}
}

// TestBatchRecipientLists checks that every event of a batch carries the
// recipients its outbox row holds, though the statement answers a community's
// member list once per batch: several shares to one community, one of them
// mentioning a non-member (an open community adds them), shares to an
// invite-only community (whose mentions add nobody), and the other audiences.
func TestBatchRecipientLists(t *testing.T) {
	f := newNetFixture(t)
	ctx := context.Background()
	ana, ben, cleo, dan := f.node("ana"), f.node("ben"), f.node("cleo"), f.node("dan")
	f.connect(ana, ben)
	for _, c := range []CommunityInput{{Name: "Open", Open: true}, {Name: "Closed", Open: false}} {
		if _, err := f.store.CreateCommunity(ctx, ana, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, slug := range []string{"open", "closed"} {
		if _, err := f.pool.Exec(ctx, `INSERT INTO community_members (community_id, node_id)
			SELECT id, $2 FROM communities WHERE slug = $1`, slug, ben); err != nil {
			t.Fatal(err)
		}
	}
	inputs := []struct {
		author int64
		in     ShareInput
	}{
		{ana, ShareInput{Body: "one", CommunitySlug: "open"}},
		{ben, ShareInput{Body: "two @cleo", CommunitySlug: "open"}},
		{ana, ShareInput{Body: "three", CommunitySlug: "closed"}},
		{ben, ShareInput{Body: "four", CommunitySlug: "open"}},
		{ana, ShareInput{Body: "five @dan", CommunitySlug: "closed"}},
		{cleo, ShareInput{Body: "not a member", CommunitySlug: "closed"}},
		{ana, ShareInput{Body: "six", Audience: "connections"}},
		{dan, ShareInput{Body: "seven", Audience: "everyone"}},
		{ben, ShareInput{Body: "eight", CommunitySlug: "closed"}},
	}
	ws := make([]*shareWrite, len(inputs))
	for i, in := range inputs {
		w, err := newShareWrite(in.author, in.in)
		if err != nil {
			t.Fatal(err)
		}
		ws[i] = w
	}
	if err := writeShares(ctx, f.pool, ws, false); err != nil {
		t.Fatal(err)
	}
	want := map[string][]int64{
		"one": {ana, ben}, "two @cleo": {ana, ben, cleo}, "three": {ana, ben}, "four": {ana, ben},
		"five @dan": {ana, ben}, "six": {ana, ben}, "seven": {}, "eight": {ana, ben},
	}
	for _, w := range ws {
		if w.body == "not a member" {
			if w.err == nil {
				t.Error("a non-member's share to an invite-only community was written")
			}
			continue
		}
		if w.err != nil {
			t.Fatalf("%q: %v", w.body, w.err)
		}
		var stored []int64
		if err := f.pool.QueryRow(ctx, `SELECT to_nodes FROM events WHERE id = $1`, w.event.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(w.event.To, stored) || !slices.Equal(stored, want[w.body]) {
			t.Errorf("%q: event to %v, outbox row to %v, want %v", w.body, w.event.To, stored, want[w.body])
		}
	}
}
