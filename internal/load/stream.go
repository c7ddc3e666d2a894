package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// streamSet is the run's open clients.
type streamSet struct {
	cancel     context.CancelFunc
	wg         sync.WaitGroup
	once       sync.Once
	reconnects atomic.Int64 // streams that ended and were resumed
	receipts   atomic.Int64 // this run's share deliveries read, duplicates included
	lastErr    atomic.Value // string: the latest connection failure
}

// stop closes every client and waits for them.
func (s *streamSet) stop() {
	s.once.Do(func() {
		s.cancel()
		s.wg.Wait()
	})
}

func (s *streamSet) received() int64 { return s.receipts.Load() }

func (s *streamSet) fail(err error) { s.lastErr.Store(err.Error()) }

// connecting bounds the clients connecting at once, so thousands of them do
// not all knock (and authenticate) in the same millisecond.
const connecting = 128

// openStreams opens one live event stream per sink: client i streams as node
// i % len(accounts) from target i % len(targets). It returns when every
// client is subscribed (its stream has begun: the server subscribes before it
// answers), or fails when they are not within a bound that grows with the
// count.
func (r *runner) openStreams(ctx context.Context, accounts []account, sinks []*sink) (*streamSet, error) {
	cctx, cancel := context.WithCancel(ctx)
	set := &streamSet{cancel: cancel}
	ready := make(chan struct{}, len(sinks))
	slots := make(chan struct{}, connecting)
	for i, s := range sinks {
		target, token := r.target(i), accounts[i%len(accounts)].Token
		set.wg.Go(func() { r.follow(cctx, set, target, token, s, slots, ready) })
	}
	limit := 30*time.Second + time.Duration(len(sinks))*10*time.Millisecond
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	start := time.Now()
	for n := 0; n < len(sinks); n++ {
		select {
		case <-ready:
		case <-ctx.Done():
			set.stop()
			return nil, ctx.Err()
		case <-timeout.C:
			set.stop()
			last, _ := set.lastErr.Load().(string)
			return nil, fmt.Errorf("only %d of %d clients connected within %s (last error: %s)", n, len(sinks), limit, last)
		}
	}
	r.cfg.Logf("%d clients connected in %s", len(sinks), time.Since(start).Round(time.Millisecond))
	return set, nil
}

// follow is one client: it reads its stream, records each of this run's
// shares with the time it was read, and when the stream ends before the run
// does, resumes it with Last-Event-ID (which loses nothing the server keeps).
func (r *runner) follow(ctx context.Context, set *streamSet, target, token string, s *sink, slots chan struct{}, ready chan<- struct{}) {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	holding := true
	release := func() {
		if holding {
			holding = false
			<-slots
		}
	}
	defer release()
	mark := []byte(marker(r.runID))
	var lastID, long []byte
	signalled := false
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/api/v1/events", nil)
		if err != nil {
			set.fail(err)
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "text/event-stream")
		if len(lastID) > 0 {
			req.Header.Set("Last-Event-ID", string(lastID))
		}
		resp, err := r.stream.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				set.fail(err)
				pause(ctx, 250*time.Millisecond)
			}
			continue
		}
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			set.fail(fmt.Errorf("GET %s/api/v1/events: status %d: %s", target, resp.StatusCode, bytes.TrimSpace(b)))
			pause(ctx, 250*time.Millisecond)
			continue
		}
		br := bufio.NewReaderSize(resp.Body, 4096)
		isShare := false
		for {
			line, err := readLine(br, &long)
			if err != nil {
				break
			}
			if !signalled {
				signalled = true
				release()
				ready <- struct{}{}
			}
			switch {
			case len(line) == 0:
				isShare = false
			case bytes.HasPrefix(line, []byte("data:")):
				if isShare {
					if seq, ok := findSeq(line, mark); ok {
						s.add(seq, r.clk.now())
						set.receipts.Add(1)
					}
				}
			case bytes.HasPrefix(line, []byte("id:")):
				lastID = append(lastID[:0], bytes.TrimSpace(line[3:])...)
			case bytes.HasPrefix(line, []byte("event:")):
				isShare = bytes.Equal(bytes.TrimSpace(line[6:]), []byte("share.created"))
			}
		}
		resp.Body.Close()
		if ctx.Err() == nil {
			set.reconnects.Add(1)
		}
	}
}

// readLine reads one line without its end (\n or \r\n). The slice is valid
// until the next read; a line longer than the buffer is gathered in *long.
func readLine(br *bufio.Reader, long *[]byte) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		*long = append((*long)[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = br.ReadSlice('\n')
			*long = append(*long, line...)
		}
		line = *long
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
