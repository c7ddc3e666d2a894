package bus

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// TestEventsBundles: events published alone and in bundles reach the tail and
// a replay as single events, in order, with sequences that grow and that
// Follows accepts one after another; a repeated bundle (same id) is stored
// once; a replay from inside a bundle starts right after the given event.
func TestEventsBundles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Start(ctx, Options{Name: "bundles", StoreDir: StoreDir(t.TempDir(), "bundles")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	e, err := NewEvents(b, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.EnsureStream(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var tailed []Message
	tctx, stopTail := context.WithCancel(ctx)
	defer stopTail()
	go func() {
		_ = e.Tail(tctx, func(m Message) {
			mu.Lock()
			tailed = append(tailed, m)
			mu.Unlock()
		})
	}()
	time.Sleep(200 * time.Millisecond) // the tail takes what is published from now on

	want := []string{}
	publishOne := func(id int64) {
		t.Helper()
		data := fmt.Sprintf("event %d", id)
		if _, err := e.Publish(ctx, "nc.evt.all", id, []byte(data)); err != nil {
			t.Fatal(err)
		}
		want = append(want, data)
	}
	publishBundle := func(first int64, n int) {
		t.Helper()
		var parts [][]byte
		for i := range n {
			parts = append(parts, fmt.Appendf(nil, "event %d", first+int64(i)))
		}
		if err := e.PublishBundle(ctx, first, parts); err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			want = append(want, string(p))
		}
	}
	publishOne(1)
	publishBundle(2, 3)
	publishBundle(5, MaxBundle)
	publishOne(5 + MaxBundle)
	publishBundle(6+MaxBundle, 2)
	// A repeat of a bundle (the outbox relay after a lost acknowledgement).
	if err := e.PublishBundle(ctx, 2, [][]byte{[]byte("event 2"), []byte("event 3"), []byte("event 4")}); err != nil {
		t.Fatal(err)
	}
	if err := e.PublishBundle(ctx, 1, nil); err == nil {
		t.Error("an empty bundle was published")
	}
	if err := e.PublishBundle(ctx, 1, make([][]byte, MaxBundle+1)); err == nil {
		t.Error("a bundle over MaxBundle was published")
	}

	check := func(what string, got []Message, want []string) {
		t.Helper()
		var data []string
		for i, m := range got {
			data = append(data, string(m.Data))
			if i > 0 && !Follows(got[i-1].Seq, m.Seq) {
				t.Errorf("%s: %d does not follow %d", what, m.Seq, got[i-1].Seq)
			}
		}
		if !slices.Equal(data, want) {
			t.Fatalf("%s: got %d events %.80q…, want %d", what, len(data), data, len(want))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(tailed)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	got := slices.Clone(tailed)
	mu.Unlock()
	check("tail", got, want)

	first, last, err := e.Bounds(ctx)
	if err != nil || first != got[0].Seq || last < got[len(got)-1].Seq || streamSeq(last) != streamSeq(got[len(got)-1].Seq) {
		t.Fatalf("bounds %d..%d (%v), want from %d to the last message's", first, last, err, got[0].Seq)
	}
	for _, from := range []int{0, 1, 2, 3, 4, 100, len(got) - 1} {
		var replayed []Message
		err := e.Replay(ctx, got[from].Seq, last, func(m Message) error {
			replayed = append(replayed, m)
			return nil
		})
		if err != nil {
			t.Fatalf("replay from %d: %v", got[from].Seq, err)
		}
		check(fmt.Sprintf("replay from event %d", from), replayed, want[from:])
		for i, m := range replayed {
			if m.Seq != got[from+i].Seq {
				t.Fatalf("replay from %d: seq %d, tail had %d", from, m.Seq, got[from+i].Seq)
			}
		}
	}
	// A replay that ends inside a bundle stops there.
	var part []Message
	if err := e.Replay(ctx, got[1].Seq, got[2].Seq, func(m Message) error { part = append(part, m); return nil }); err != nil {
		t.Fatal(err)
	}
	check("replay of two", part, want[1:3])
	// Nothing was ever dropped: an id before the first (an old client's) is
	// answered with everything.
	var all []Message
	if err := e.Replay(ctx, 1, last, func(m Message) error { all = append(all, m); return nil }); err != nil {
		t.Fatal(err)
	}
	check("replay from id 1", all, want)
	// Once the first message is dropped, what came before it is gone.
	stream, err := e.js.Stream(ctx, StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.DeleteMsg(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := e.Replay(ctx, got[0].Seq, last, func(Message) error { return nil }); !errors.Is(err, ErrGone) {
		t.Errorf("replay from a dropped event: %v, want ErrGone", err)
	}
	var kept []Message
	if err := e.Replay(ctx, got[1].Seq, last, func(m Message) error { kept = append(kept, m); return nil }); err != nil {
		t.Fatal(err)
	}
	check("replay from the first kept", kept, want[1:])

	// The tail's and the replays' consumers go away soon after they are
	// idle: none keeps nats.go's default of five minutes.
	n := 0
	for ci := range stream.ListConsumers(ctx).Info() {
		n++
		if limit := ci.Config.InactiveThreshold; limit <= 0 || limit > tailIdleLimit {
			t.Errorf("consumer %s stays %s after its last use, want at most %s", ci.Name, limit, tailIdleLimit)
		}
	}
	if n == 0 {
		t.Error("no consumers listed: the tail's should be there")
	}
}

func TestSplit(t *testing.T) {
	at := time.Unix(1, 0)
	bundle := func(parts ...string) (nats.Header, []byte) {
		var data []byte
		for _, p := range parts {
			data = fmt.Appendf(data, "%c%s", len(p), p)
		}
		return nats.Header{partsHeader: []string{fmt.Sprint(len(parts))}}, data
	}
	collect := func(seq uint64, h nats.Header, data []byte) ([]Message, error) {
		var out []Message
		err := Split(seq, h, data, at, func(m Message) error { out = append(out, m); return nil })
		return out, err
	}
	got, err := collect(7, nil, []byte("alone"))
	if err != nil || len(got) != 1 || got[0].Seq != 7<<8 || string(got[0].Data) != "alone" || got[0].Time != at {
		t.Fatalf("a message of one: %+v, %v", got, err)
	}
	h, data := bundle("a", "", "ccc")
	got, err = collect(7, h, data)
	if err != nil || len(got) != 3 || got[1].Seq != 7<<8|1 || string(got[2].Data) != "ccc" || len(got[1].Data) != 0 {
		t.Fatalf("a bundle: %+v, %v", got, err)
	}
	for name, bad := range map[string]func() (nats.Header, []byte){
		"count too high":   func() (nats.Header, []byte) { h, d := bundle("a", "b"); h.Set(partsHeader, "3"); return h, d },
		"count not number": func() (nats.Header, []byte) { h, d := bundle("a"); h.Set(partsHeader, "x"); return h, d },
		"count over max":   func() (nats.Header, []byte) { h, d := bundle("a"); h.Set(partsHeader, "257"); return h, d },
		"truncated":        func() (nats.Header, []byte) { h, d := bundle("abc"); return h, d[:len(d)-1] },
		"bad length":       func() (nats.Header, []byte) { h, _ := bundle("a"); return h, []byte{0xff} },
	} {
		h, d := bad()
		if got, err := collect(1, h, d); err == nil || len(got) != 0 {
			t.Errorf("%s: %d events, %v; want an error and none", name, len(got), err)
		}
	}
	// fn's error stops the split.
	stop := errors.New("stop")
	n := 0
	h, data = bundle("a", "b", "c")
	if err := Split(1, h, data, at, func(Message) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("stop: %d calls, %v", n, err)
	}
}

// FuzzSplit: any header count and data either splits into that many events,
// in order, each a piece of data (with minimal framing, exactly data), or is
// refused with nothing given.
func FuzzSplit(f *testing.F) {
	f.Add("2", []byte("\x01a\x02bc"))
	f.Add("1", []byte{0})
	f.Add("0", []byte{})
	f.Add("3", []byte("\x80\x80\x80"))
	f.Fuzz(func(t *testing.T, parts string, data []byte) {
		var got []Message
		err := Split(3, nats.Header{partsHeader: []string{parts}}, data, time.Time{}, func(m Message) error {
			got = append(got, m)
			return nil
		})
		if err != nil {
			if len(got) != 0 {
				t.Fatalf("refused after giving %d events", len(got))
			}
			return
		}
		if n, _ := strconv.Atoi(parts); n != len(got) && parts != "" {
			t.Fatalf("%d events, header says %q", len(got), parts)
		}
		var again []byte
		total := 0
		for i, m := range got {
			if m.Seq != 3<<8|uint64(i) {
				t.Fatalf("event %d has seq %d", i, m.Seq)
			}
			again = binary.AppendUvarint(again, uint64(len(m.Data)))
			again = append(again, m.Data...)
			total += len(m.Data)
		}
		if total > len(data) || (len(again) == len(data) && !bytes.Equal(again, data)) {
			t.Fatalf("events %q do not come from %q", again, data)
		}
	})
}
