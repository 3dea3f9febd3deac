package python

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// The interpreter's replies are outside bytes (a function can write into
// the reply pipe): no frame may panic the worker or allocate past the
// limit, and whatever decodes is a reply the worker can act on.

func FuzzReadFrame(f *testing.F) {
	var buf []byte
	buf, _ = writeFrame(&bytes.Buffer{}, buf, []byte(`{"ok":true,"value":1}`))
	f.Add(append([]byte(nil), buf...))
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0, 0, 0, 5, 'a'})
	f.Fuzz(func(t *testing.T, p []byte) {
		r := bufio.NewReader(bytes.NewReader(p))
		for {
			frame, err := readFrame(r, 1<<10)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrProtocol) {
					t.Fatalf("error %v is neither end-of-file nor a protocol error", err)
				}
				return
			}
			if len(frame) > 1<<10 {
				t.Fatalf("frame of %d bytes past the limit", len(frame))
			}
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	for _, s := range []string{
		`{"ok":true,"value":{"a":[1,2]},"stdout":"x","truncated":true}`,
		`{"ok":false,"kind":"RemoteError","message":"ZeroDivisionError: division by zero","type":"ZeroDivisionError","traceback":"Traceback","module":"m"}`,
		`{"missing":true}`, `{"ok":true}`, `{"ok":false,"kind":"Nope"}`, `[]`, `null`, `{"ok":true,"value":}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		r, err := decodeReply(p)
		if err != nil {
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("error %v is not a protocol error", err)
			}
			return
		}
		switch {
		case r.Missing:
		case r.OK && !json.Valid(r.Value):
			t.Fatalf("success with a value that is not JSON: %q", r.Value)
		case !r.OK && r.Kind != KindRemoteError && r.Kind != KindInvalidTask && r.Kind != KindResultTooLarge:
			t.Fatalf("failure of kind %q accepted", r.Kind)
		}
	})
}

func FuzzDecodeHello(f *testing.F) {
	f.Add([]byte(`{"protocol":1,"pid":3,"version":"3.11.2","executable":"/usr/bin/python3"}`))
	f.Add([]byte(`{"protocol":2}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := decodeHello(p)
		if err == nil && h.Protocol != ProtocolVersion {
			t.Fatalf("protocol %d accepted", h.Protocol)
		}
		if err != nil && !errors.Is(err, ErrProtocol) {
			t.Fatalf("error %v is not a protocol error", err)
		}
	})
}

// The fast decoding of a plain success (fastReply) accepts only what
// encoding/json decodes to the same reply.
func FuzzFastReply(f *testing.F) {
	for _, s := range []string{
		okPrefix + `7` + valueKey + `null}`, okPrefix + `18446744073709551615` + valueKey + `{"a":[1,"}"]}}`,
		okPrefix + `18446744073709551616` + valueKey + `1}`, okPrefix + `01` + valueKey + `1}`, okPrefix + `1` + valueKey + ` 1 }`,
		okPrefix + `1` + valueKey + `1,"seq":2}`, okPrefix + `1` + valueKey + `}`, okPrefix + `1,"value":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		fast, ok := fastReply(p)
		if !ok {
			return
		}
		var slow Reply
		if err := json.Unmarshal(p, &slow); err != nil {
			t.Fatalf("fastReply accepted %q, which encoding/json refuses: %v", p, err)
		}
		if fast.Seq != slow.Seq || !slow.OK || !bytes.Equal(fast.Value, slow.Value) || slow.Stdout != "" || slow.Stderr != "" || slow.Truncated || slow.Kind != "" || slow.Missing {
			t.Fatalf("fastReply decoded %q to %+v, encoding/json to %+v", p, *fast, slow)
		}
	})
}

// The request encoder writes what json.Marshal would, for any strings.
func FuzzAppendRequest(f *testing.F) {
	f.Add(uint64(1), "0123abcd", "def f():\n    return '<é>'\n", "f", 1<<20)
	f.Add(uint64(0), "", "", "", 0)
	f.Add(uint64(1<<63), "\"\\\x00\xff", "\u2028&", "g", -1)
	f.Fuzz(func(t *testing.T, seq uint64, fid, source, entry string, limit int) {
		q := request{Seq: seq, FID: fid, Source: source, Entry: entry, Call: json.RawMessage(`{"args":[1]}`), Limit: limit, Max: 64 << 20, Hold: seq%2 == 0}
		want, err := json.Marshal(&q)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendRequest(nil, &q); !bytes.Equal(got, want) {
			t.Fatalf("appendRequest wrote\n%s\njson.Marshal\n%s", got, want)
		}
	})
}

// Whatever is in the quiet pipe, taking frames from it never panics nor
// takes a frame past the limit, and takes exactly the whole frames there.
func FuzzQuietNext(f *testing.F) {
	var buf []byte
	buf, _ = writeFrame(&bytes.Buffer{}, buf, []byte(okPrefix+"1"+valueKey+"null}"))
	f.Add(append(append([]byte(nil), buf...), buf...))
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, p []byte) {
		q := &quiet{buf: p}
		took := 0
		for {
			frame, ok, err := q.next(1 << 10)
			if err != nil {
				if !errors.Is(err, ErrProtocol) {
					t.Fatalf("error %v is not a protocol error", err)
				}
				return
			}
			if !ok {
				break
			}
			if len(frame) > 1<<10 {
				t.Fatalf("frame of %d bytes past the limit", len(frame))
			}
			took += 4 + len(frame)
		}
		if took != q.off || len(p)-took >= 4 && int(binary.BigEndian.Uint32(p[took:])) <= len(p)-took-4 {
			t.Fatalf("took %d of %d bytes, left a whole frame", took, len(p))
		}
	})
}
