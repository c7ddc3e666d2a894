package community

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The wire form of an Event on the event stream. Every instance decodes every
// event, and encoding/json spent 35–49 µs on one addressed to a community of
// 250 (it scans the message several times and decodes the recipient list by
// reflection); the recipients also made every message large for JetStream to
// replicate. The binary form is, in order:
//
//	byte    0x01, the version; JSON text never starts with it
//	varint  ID
//	varint  At's Unix seconds
//	uvarint At's nanoseconds within the second (below 1e9)
//	byte    flags: bit 0 ToAll; the other bits must be 0
//	uvarint len(Type), then Type
//	uvarint len(To), then each id as a zig-zag varint delta from the one
//	        before (the first from 0): lists arrive sorted, so a delta takes
//	        1–2 bytes, and any order still round-trips
//	the rest of the message: Object, verbatim (none: nil)
//
// At is seconds and nanoseconds, not Unix nanoseconds, because an int64 of
// nanoseconds cannot hold the zero time (year 1) or any time after 2262; the
// zero time comes back as time.Time{}, any other time in UTC. Subject is the
// NATS subject and is not encoded. DecodeEvent also reads the JSON form that
// was published before, which the stream keeps for a day.
const wireVersion = 0x01

const (
	wireToAll    = 1 << 0
	wireAllFlags = wireToAll
)

// AppendWire appends the event's binary wire form (see DecodeEvent) to b.
func (e Event) AppendWire(b []byte) []byte {
	// Grow once: a delta takes at most 10 bytes but nearly always 1–2.
	b = slices.Grow(b, 1+4*binary.MaxVarintLen64+1+len(e.Type)+2*len(e.To)+len(e.Object))
	b = append(b, wireVersion)
	b = binary.AppendVarint(b, e.ID)
	b = binary.AppendVarint(b, e.At.Unix())
	b = binary.AppendUvarint(b, uint64(e.At.Nanosecond()))
	var flags byte
	if e.ToAll {
		flags |= wireToAll
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(e.Type)))
	b = append(b, e.Type...)
	b = binary.AppendUvarint(b, uint64(len(e.To)))
	var prev int64
	for _, id := range e.To {
		b = binary.AppendVarint(b, id-prev) // wraps like the decoder's sum
		prev = id
	}
	return append(b, e.Object...)
}

// errWire is the error for a binary event that cannot be read.
var errWire = errors.New("malformed event")

// DecodeEvent decodes an event as published on the event stream: the binary
// form of AppendWire, or the JSON form (a JSON object) published before it.
// A non-empty Object refers to data's own bytes rather than a copy: NATS
// hands every message a buffer of its own, and the event lives as long as the
// message anyway. The caller must not modify data afterwards.
func DecodeEvent(data []byte) (Event, error) {
	if len(data) > 0 && data[0] == wireVersion {
		return decodeWire(data)
	}
	if t := bytes.TrimLeft(data, " \t\n\r"); len(t) > 0 && t[0] == '{' {
		var e Event
		if err := json.Unmarshal(data, &e); err != nil {
			return Event{}, fmt.Errorf("event: %w", err)
		}
		return e, nil
	}
	if len(data) == 0 {
		return Event{}, fmt.Errorf("%w: empty", errWire)
	}
	return Event{}, fmt.Errorf("%w: unknown encoding (first byte %#02x)", errWire, data[0])
}

// decodeWire decodes the binary form. Every read is checked against the bytes
// left, so bad input is an error, and no length in it can make it allocate
// more than the message's size in ids.
func decodeWire(data []byte) (Event, error) {
	d := wireReader{b: data[1:]}
	var e Event
	e.ID = d.varint("id")
	sec := d.varint("at")
	nsec := d.uvarint("at")
	if d.err == nil && nsec >= uint64(time.Second) {
		d.fail("at", "nanoseconds out of range")
	}
	flags := d.byte("flags")
	if d.err == nil && flags&^wireAllFlags != 0 {
		d.fail("flags", "unknown flags")
	}
	e.Type = string(d.bytes(d.uvarint("type length"), "type"))
	n := d.uvarint("recipient count")
	if d.err == nil && n > uint64(len(d.b)) { // each id takes at least a byte
		d.fail("to", "more recipients than bytes")
	}
	if d.err != nil {
		return Event{}, d.err
	}
	e.At = time.Unix(sec, int64(nsec)).UTC() // the zero time comes back as time.Time{}
	e.ToAll = flags&wireToAll != 0
	if n > 0 {
		e.To = make([]int64, n)
		rest, ok := decodeDeltas(d.b, e.To)
		if !ok {
			return Event{}, fmt.Errorf("%w: to: truncated or overflowing varint", errWire)
		}
		d.b = rest
	}
	if len(d.b) > 0 {
		e.Object = json.RawMessage(d.b[:len(d.b):len(d.b)])
	}
	return e, nil
}

// decodeDeltas fills to with the ids whose zig-zag varint deltas start b and
// returns the rest of b. It is the loop that counts (an event to a community
// of 300 has 300 of them), so the usual one-byte delta takes a short path.
func decodeDeltas(b []byte, to []int64) (rest []byte, ok bool) {
	var prev int64
	for i := range to {
		var ux uint64
		if len(b) > 0 && b[0] < 0x80 {
			ux, b = uint64(b[0]), b[1:]
		} else {
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, false
			}
			ux, b = v, b[n:]
		}
		prev += int64(ux>>1) ^ -int64(ux&1) // zig-zag, as binary.Varint
		to[i] = prev
	}
	return b, true
}

// wireReader reads the fields of a binary event in turn; after the first
// failure every read returns zero and the error stays the first one.
type wireReader struct {
	b   []byte
	err error
}

func (d *wireReader) fail(field, what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s: %s", errWire, field, what)
	}
}

func (d *wireReader) varint(field string) int64   { return readVarint(d, field, binary.Varint) }
func (d *wireReader) uvarint(field string) uint64 { return readVarint(d, field, binary.Uvarint) }

// readVarint reads one number with decode (binary.Varint or binary.Uvarint).
func readVarint[T int64 | uint64](d *wireReader, field string, decode func([]byte) (T, int)) T {
	if d.err != nil {
		return 0
	}
	v, n := decode(d.b)
	if n <= 0 {
		d.fail(field, varintProblem(n))
		return 0
	}
	d.b = d.b[n:]
	return v
}

func varintProblem(n int) string {
	if n == 0 {
		return "truncated"
	}
	return "varint overflows 64 bits"
}

func (d *wireReader) byte(field string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(field, "truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *wireReader) bytes(n uint64, field string) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(field, "truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
