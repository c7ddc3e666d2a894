package community

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sameEvent reports how got differs from want, or "" when they are the same
// event: times compare with Equal (the wire form carries no location), and a
// nil list or object is the same as an empty one.
func sameEvent(got, want Event) string {
	switch {
	case got.ID != want.ID:
		return "id"
	case got.Type != want.Type:
		return "type"
	case got.ToAll != want.ToAll:
		return "to_all"
	case len(got.To) != len(want.To) || (len(want.To) > 0 && !reflect.DeepEqual(got.To, want.To)):
		return "to"
	case !bytes.Equal(got.Object, want.Object):
		return "object"
	case !got.At.Equal(want.At):
		return "at"
	case got.Subject != "":
		return "subject (not on the wire)"
	}
	return ""
}

// wireEvent is an event like a share to a community: n recipients in order,
// an object of about objectSize bytes.
func wireEvent(n, objectSize int) Event {
	to := make([]int64, n)
	for i := range to {
		to[i] = 100_000 + int64(i)*3
	}
	obj, _ := json.Marshal(map[string]any{
		"id": 123456, "body": strings.Repeat("x", max(0, objectSize-180)),
		"author":    map[string]any{"id": 1, "handle": "ana", "display_name": "Ana"},
		"audience":  "community",
		"community": map[string]any{"slug": "platform", "name": "Platform"},
		"tags":      []string{"ops"}, "created_at": "2026-11-21T17:17:00.123456Z",
	})
	return Event{ID: 987654, Type: "share.created", To: to, Object: obj,
		At: time.Date(2026, 11, 21, 17, 17, 0, 123456789, time.UTC)}
}

func TestWireRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte(`{"k":"v"},`), 100_000)
	big = append(append([]byte(`[`), big[:len(big)-1]...), ']')
	local := time.FixedZone("CET", 3600)
	cases := []struct {
		name string
		e    Event
	}{
		{"empty event", Event{}},
		{"empty to", Event{ID: 1, Type: "share.created", To: []int64{}, Object: json.RawMessage(`{}`), At: time.Now()}},
		{"to all", Event{ID: 2, Type: "node.joined", ToAll: true, Object: json.RawMessage(`{"id":7}`), At: time.Now().UTC()}},
		{"sorted to", wireEvent(250, 600)},
		{"unsorted and large ids", Event{ID: math.MaxInt64, Type: "x", To: []int64{
			5, 3, 1 << 40, 2, math.MaxInt64, math.MinInt64, -1, 0, math.MaxInt64, 7, 7,
		}}},
		{"negative id", Event{ID: -42, Type: "t", To: []int64{-5, -6}}},
		{"zero time", Event{ID: 3, Type: "t", To: []int64{1}}},
		{"nanoseconds, UTC", Event{ID: 4, Type: "t", At: time.Date(2026, 1, 2, 3, 4, 5, 999_999_999, time.UTC)}},
		{"nanoseconds, other zone", Event{ID: 5, Type: "t", At: time.Date(2026, 1, 2, 3, 4, 5, 1, local)}},
		{"before 1970", Event{ID: 6, Type: "t", At: time.Date(1901, 12, 13, 20, 45, 51, 7, time.UTC)}},
		{"far future", Event{ID: 7, Type: "t", At: time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)}},
		{"unicode type", Event{ID: 8, Type: "réaction.ajoutée 🎉 日本", To: []int64{1, 2}}},
		{"empty object", Event{ID: 9, Type: "t", Object: json.RawMessage{}}},
		{"null object", Event{ID: 10, Type: "t", Object: json.RawMessage(`null`)}},
		{"large object", Event{ID: 11, Type: "t", ToAll: true, Object: big}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := c.e.AppendWire(nil)
			got, err := DecodeEvent(data)
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if diff := sameEvent(got, c.e); diff != "" {
				t.Fatalf("%s differs: got %+v, want %+v", diff, got, c.e)
			}
			if c.e.At.IsZero() && got.At != (time.Time{}) {
				t.Errorf("at = %#v, want the zero time.Time", got.At)
			}
			if got.At.Location() != time.UTC {
				t.Errorf("at location = %v, want UTC", got.At.Location())
			}
			if len(c.e.Object) == 0 && got.Object != nil {
				t.Errorf("object = %q, want nil (as JSON decodes a missing object)", got.Object)
			}
			// Appending to a buffer that holds something keeps it.
			prefixed := c.e.AppendWire([]byte("keep"))
			if !bytes.HasPrefix(prefixed, []byte("keep")) || !bytes.Equal(prefixed[4:], data) {
				t.Errorf("AppendWire onto a prefix: got %q, want keep + %q", prefixed, data)
			}
		})
	}

	t.Run("recipients take one or two bytes", func(t *testing.T) {
		e := wireEvent(250, 600)
		js, _ := json.Marshal(e)
		wire := e.AppendWire(nil)
		if header := len(wire) - len(e.Object); header > 2*len(e.To)+40 {
			t.Errorf("binary header = %d bytes for %d recipients, want at most %d", header, len(e.To), 2*len(e.To)+40)
		}
		t.Logf("250 recipients, %d-byte object: JSON %d bytes, binary %d bytes", len(e.Object), len(js), len(wire))
	})
}

func TestDecodeEventLegacyJSON(t *testing.T) {
	full, _ := json.Marshal(wireEvent(3, 200))
	cases := []struct{ name, data string }{
		{"as published before", string(full)},
		{"leading whitespace", " \t\r\n" + string(full)},
		{"missing object", `{"id":1,"type":"t","to_all":false,"to":[1,2],"at":"2026-01-02T03:04:05.5+01:00"}`},
		{"null object", `{"id":1,"type":"t","to_all":true,"to":null,"object":null,"at":"0001-01-01T00:00:00Z"}`},
		{"empty to", `{"id":2,"type":"t","to":[],"object":{"a":[1, 2]}}`},
		{"unknown field", `{"id":3,"type":"t","subject":"nc.evt.x","extra":true}`},
		{"empty object", `{}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var want Event
			if err := json.Unmarshal([]byte(c.data), &want); err != nil {
				t.Fatal(err)
			}
			got, err := DecodeEvent([]byte(c.data))
			if err != nil {
				t.Fatalf("DecodeEvent: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want json.Unmarshal's %+v", got, want)
			}
			// And it survives the move to the binary form.
			again, err := DecodeEvent(got.AppendWire(nil))
			if err != nil {
				t.Fatalf("binary form of a JSON event: %v", err)
			}
			if diff := sameEvent(again, want); diff != "" {
				t.Errorf("binary form of a JSON event: %s differs: got %+v, want %+v", diff, again, want)
			}
		})
	}
}

func TestDecodeEventMalformed(t *testing.T) {
	// header builds a binary event's start: version, id 1, time 0, flags 0.
	header := func(more ...byte) []byte { return append([]byte{wireVersion, 2, 0, 0, 0}, more...) }
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	overlong := bytes.Repeat([]byte{0x80}, 10)
	overlong = append(overlong, 0x01) // 11 bytes: more than 64 bits
	cases := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"whitespace only", []byte(" \n")},
		{"unknown version", []byte{0x02, 0, 0, 0, 0, 0, 0}},
		{"not JSON object", []byte(`[1,2]`)},
		{"JSON null", []byte(`null`)},
		{"broken JSON", []byte(`{"id":1,"to":[1,`)},
		{"JSON of the wrong type", []byte(`{"id":"one"}`)},
		{"version only", []byte{wireVersion}},
		{"overlong id", append([]byte{wireVersion}, overlong...)},
		{"id overflows", append([]byte{wireVersion}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02)},
		{"overlong seconds", append([]byte{wireVersion, 2}, overlong...)},
		{"nanoseconds out of range", append(append([]byte{wireVersion, 2, 0}, uv(uint64(time.Second))...), 0, 0, 0)},
		{"unknown flags", []byte{wireVersion, 2, 0, 0, 0x02, 0, 0}},
		{"type longer than the message", header(5, 'a', 'b')},
		{"absurd type length", append(header(), uv(math.MaxUint64)...)},
		{"overlong type length", append(header(), overlong...)},
		{"absurd recipient count", append(header(0), uv(1<<62)...)},
		{"max recipient count", append(header(0), uv(math.MaxUint64)...)},
		{"one more recipient than bytes", append(header(0), 4, 2, 2, 2)},
		{"overlong recipient", append(append(header(0), 1), overlong...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if e, err := DecodeEvent(c.data); err == nil {
				t.Errorf("DecodeEvent(%q) = %+v, want an error", c.data, e)
			}
		})
	}

	// A message cut anywhere before its object is an error. (A cut inside
	// the object cannot be told from a shorter object; NATS frames
	// messages, so it does not cut them.)
	for _, e := range []Event{wireEvent(20, 0), {ID: 300, Type: "t", ToAll: true, At: time.Now()}} {
		data := e.AppendWire(nil)
		for n := range len(data) - len(e.Object) {
			if got, err := DecodeEvent(data[:n]); err == nil {
				t.Errorf("cut at %d of %d bytes: got %+v, want an error", n, len(data), got)
			}
		}
	}
}

func TestDecodeEventObjectAliasesMessage(t *testing.T) {
	data := wireEvent(3, 100).AppendWire(nil)
	e, err := DecodeEvent(data)
	if err != nil {
		t.Fatal(err)
	}
	if cap(e.Object) != len(e.Object) {
		t.Errorf("object cap = %d, want its length %d (an append must not write into the message)", cap(e.Object), len(e.Object))
	}
	if &e.Object[0] != &data[len(data)-len(e.Object)] {
		t.Error("object was copied; want it to refer to the message's bytes")
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, e := range []Event{
		{},
		wireEvent(5, 200),
		{ID: -1, Type: "é", ToAll: true, To: []int64{math.MinInt64, 3, 1}, Object: json.RawMessage(`null`), At: time.Unix(0, 1)},
	} {
		f.Add(e.AppendWire(nil))
		js, _ := json.Marshal(e)
		f.Add(js)
	}
	f.Add([]byte(` {"id":1,"to":[3,2,1],"object":{"a":1},"at":"2026-01-02T03:04:05.123+02:00"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeEvent(data)
		if err != nil {
			return
		}
		again, err := DecodeEvent(e.AppendWire(nil))
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v (event %+v)", err, e)
		}
		if diff := sameEvent(again, e); diff != "" {
			t.Fatalf("%s changed: got %+v, want %+v", diff, again, e)
		}
	})
}

// BenchmarkDecodeEvent compares the two forms for an event to a community of
// 250 with a 600-byte object (each instance decodes every event once).
func BenchmarkDecodeEvent(b *testing.B) {
	e := wireEvent(250, 600)
	js, _ := json.Marshal(e)
	for _, c := range []struct {
		name string
		data []byte
	}{{"json", js}, {"binary", e.AppendWire(nil)}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeEvent(c.data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c.data)), "msg-bytes")
		})
	}
	b.Run("encode binary", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = e.AppendWire(nil)
		}
	})
}
