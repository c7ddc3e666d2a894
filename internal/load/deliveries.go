package load

import (
	"bytes"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ledger records the shares of a run: when each was sent, into which
// community, and whether it was acknowledged. A sequence number is a share's
// index here.
type ledger struct {
	mu        sync.Mutex
	sentAt    []int64 // run clock
	community []int32
	acked     []bool

	fanout   []int64      // clients owed each community's shares
	expected atomic.Int64 // deliveries owed for the acked shares so far
}

// start records a share about to be sent at the run clock's at and returns
// its sequence number and community: the communities take turns.
func (l *ledger) start(at int64, communities int) (seq, community int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seq = len(l.sentAt)
	community = seq % communities
	l.sentAt = append(l.sentAt, at)
	l.community = append(l.community, int32(community))
	l.acked = append(l.acked, false)
	return seq, community
}

// ack marks share seq acknowledged: its deliveries are now owed.
func (l *ledger) ack(seq int) {
	l.mu.Lock()
	l.acked[seq] = true
	c := l.community[seq]
	l.mu.Unlock()
	l.expected.Add(l.fanout[c])
}

// receipt is one delivery read by a client: which share, when.
type receipt struct {
	seq uint32
	at  int64
}

// sink is one client's deliveries. The mutex is uncontended (one reader per
// client); it makes reading the receipts at the end safe whatever goroutine
// the transport delivered on.
type sink struct {
	community int
	mu        sync.Mutex
	receipts  []receipt
}

func (s *sink) add(seq uint32, at int64) {
	s.mu.Lock()
	s.receipts = append(s.receipts, receipt{seq, at})
	s.mu.Unlock()
}

// tally is the outcome of matching deliveries against the ledger.
type tally struct {
	expected, received, duplicated, unexpected, unconfirmed int64
	latencies                                               []int64 // nanoseconds, first receipt of each owed delivery
	lastAt                                                  int64   // latest counted receipt
}

// count matches every client's receipts against the ledger. A client is owed
// every acknowledged share of its community once; a second receipt of the
// same share is a duplicate, a receipt of a share of another community
// unexpected, one of a share whose send failed unconfirmed (it may well have
// been committed).
func count(l *ledger, sinks []*sink) tally {
	l.mu.Lock()
	defer l.mu.Unlock()
	var t tally
	for seq, ok := range l.acked {
		if ok {
			t.expected += l.fanout[l.community[seq]]
		}
	}
	seen := make([]uint64, (len(l.acked)+63)/64)
	for _, s := range sinks {
		clear(seen)
		s.mu.Lock()
		for _, r := range s.receipts {
			seq := int(r.seq)
			switch {
			case seq >= len(l.acked) || int(l.community[seq]) != s.community:
				t.unexpected++
			case !l.acked[seq]:
				t.unconfirmed++
			case seen[seq/64]&(1<<(seq%64)) != 0:
				t.duplicated++
			default:
				seen[seq/64] |= 1 << (seq % 64)
				t.received++
				t.latencies = append(t.latencies, r.at-l.sentAt[seq])
				t.lastAt = max(t.lastAt, r.at)
			}
		}
		s.mu.Unlock()
	}
	return t
}

// marker is what precedes the sequence number in a share's body.
func marker(runID string) string { return "lg-" + runID + "-" }

// shareBody is the body of share seq: the marker, the number, and filler up
// to size bytes. No '#' or '@': the server would parse tags and mentions.
func shareBody(runID string, seq, size int) string {
	var b strings.Builder
	b.WriteString(marker(runID))
	b.WriteString(strconv.Itoa(seq))
	b.WriteString(" load test share, please ignore.")
	for b.Len() < size {
		b.WriteString(" filler")
	}
	return b.String()[:max(size, len(marker(runID))+len(strconv.Itoa(seq))+1)]
}

// findSeq finds the marker in data and parses the number after it.
func findSeq(data, mark []byte) (uint32, bool) {
	i := bytes.Index(data, mark)
	if i < 0 {
		return 0, false
	}
	var n uint64
	digits := 0
	for _, c := range data[i+len(mark):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + uint64(c-'0')
		digits++
		if n > 1<<32-1 {
			return 0, false
		}
	}
	return uint32(n), digits > 0
}
