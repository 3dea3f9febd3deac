package python

import (
	"bufio"
	"bytes"
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
