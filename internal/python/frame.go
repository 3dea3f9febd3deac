package python

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// ErrProtocol wraps every malformed frame from the interpreter.
var ErrProtocol = errors.New("python driver protocol broken")

// writeFrame writes one frame: the length, then p, in one write.
func writeFrame(w io.Writer, buf, p []byte) ([]byte, error) {
	buf = appendFrame(buf[:0], p)
	_, err := w.Write(buf)
	return buf, err
}

// appendFrame appends the frame of p to buf.
func appendFrame(buf, p []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(p)))
	return append(buf, p...)
}

// readFrame reads one frame of at most limit bytes.
func readFrame(r *bufio.Reader, limit int) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: frame header cut short", ErrProtocol)
		}
		return nil, err // io.EOF: the interpreter is gone
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if int64(n) > int64(limit) {
		return nil, fmt.Errorf("%w: frame of %d bytes exceeds the limit of %d", ErrProtocol, n, limit)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, fmt.Errorf("%w: frame of %d bytes cut short: %v", ErrProtocol, n, err)
	}
	return p, nil
}

// Hello is the driver's first frame: who is running it.
type Hello struct {
	Protocol   int    `json:"protocol"`
	PID        int    `json:"pid"`
	Version    string `json:"version"`    // Python's, "3.11.2"
	Executable string `json:"executable"` // sys.executable
}

// decodeHello decodes and checks a hello frame.
func decodeHello(p []byte) (Hello, error) {
	var h Hello
	if err := json.Unmarshal(p, &h); err != nil {
		return h, fmt.Errorf("%w: hello: %v", ErrProtocol, err)
	}
	if h.Protocol != ProtocolVersion {
		return h, fmt.Errorf("%w: the driver speaks protocol %d, this worker %d", ErrProtocol, h.Protocol, ProtocolVersion)
	}
	return h, nil
}

// request is one call, as the driver reads it.
type request struct {
	// Seq numbers the request; its reply carries it back.
	Seq uint64 `json:"seq"`
	FID string `json:"fid"`
	// Source and Entry are sent until the driver has compiled the
	// function.
	Source string `json:"source,omitempty"`
	Entry  string `json:"entry,omitempty"`
	// Call is the JSON of funcx.PythonArgs; null for no arguments.
	Call json.RawMessage `json:"call"`
	// Limit caps the captured stdout and stderr, each; Max the reply.
	Limit int `json:"limit"`
	Max   int `json:"max"`
	// Hold lets the driver answer in the quiet pipe (see Call.Hold).
	Hold bool `json:"hold,omitempty"`
}

// appendRequest appends the JSON of q as json.Marshal writes it (but for
// the arguments, kept as they came), without its reflection: the worker
// encodes one per task.
func appendRequest(b []byte, q *request) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, q.Seq, 10)
	b = append(b, `,"fid":`...)
	b = appendString(b, q.FID)
	if q.Source != "" {
		b = append(b, `,"source":`...)
		b = appendString(b, q.Source)
	}
	if q.Entry != "" {
		b = append(b, `,"entry":`...)
		b = appendString(b, q.Entry)
	}
	b = append(b, `,"call":`...)
	b = append(b, q.Call...) // checked JSON (send)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(q.Limit), 10)
	b = append(b, `,"max":`...)
	b = strconv.AppendInt(b, int64(q.Max), 10)
	if q.Hold {
		b = append(b, `,"hold":true`...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string: as it is when nothing in it
// needs escaping (a function ID, a name), else as json.Marshal escapes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Reply is the driver's answer to a call.
type Reply struct {
	// Seq is the request's sequence number.
	Seq uint64 `json:"seq"`
	// OK: the function returned Value (JSON).
	OK    bool            `json:"ok"`
	Value json.RawMessage `json:"value,omitempty"`
	// Stdout and Stderr are what the function printed, up to the limit;
	// Truncated says that some was dropped.
	Stdout    string `json:"stdout,omitempty"`
	Stderr    string `json:"stderr,omitempty"`
	Truncated bool   `json:"truncated,omitempty"`
	// Kind is a funcx error kind name when the call failed: RemoteError
	// (the function raised; Type is the exception's class, Traceback the
	// remote traceback, Module the missing module of a
	// ModuleNotFoundError), InvalidTask (the source does not compile or
	// define entry, the arguments are malformed) or ResultTooLarge.
	Kind      string `json:"kind,omitempty"`
	Message   string `json:"message,omitempty"`
	Type      string `json:"type,omitempty"`
	Traceback string `json:"traceback,omitempty"`
	Module    string `json:"module,omitempty"`
	// Missing: the driver does not have the function (anymore); the
	// call is sent again with its source.
	Missing bool `json:"missing,omitempty"`
}

// Reply kinds besides success.
const (
	KindRemoteError    = "RemoteError"
	KindInvalidTask    = "InvalidTask"
	KindResultTooLarge = "ResultTooLarge"
)

// okPrefix and valueKey frame the driver's reply to a call that returned
// and printed nothing, the common case, which decodeReply reads without
// encoding/json (see fastReply).
const (
	okPrefix = `{"ok":true,"stdout":"","stderr":"","truncated":false,"seq":`
	valueKey = `,"value":`
)

// fastReply decodes a reply of exactly the form the driver writes for a
// call that returned and printed nothing: okPrefix, the sequence number,
// valueKey, the value and "}". It returns false for anything else, which
// decodeReply leaves to encoding/json; what it accepts, encoding/json
// decodes to the same reply (FuzzFastReply).
func fastReply(p []byte) (*Reply, bool) {
	if len(p) < len(okPrefix)+len(valueKey)+3 || string(p[:len(okPrefix)]) != okPrefix || p[len(p)-1] != '}' {
		return nil, false
	}
	rest := p[len(okPrefix) : len(p)-1]
	i := 0
	for i < len(rest) && i < 19 && rest[i] >= '0' && rest[i] <= '9' { // 19 digits fit uint64
		i++
	}
	if i == 0 || (rest[0] == '0' && i > 1) || len(rest)-i < len(valueKey) || string(rest[i:i+len(valueKey)]) != valueKey {
		return nil, false
	}
	seq, err := strconv.ParseUint(string(rest[:i]), 10, 64)
	value := rest[i+len(valueKey):]
	if err != nil || len(value) == 0 || isSpace(value[0]) || isSpace(value[len(value)-1]) || !json.Valid(value) {
		return nil, false
	}
	return &Reply{Seq: seq, OK: true, Value: value}, true
}

// isSpace reports JSON white space, which encoding/json would not keep
// around a raw value.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// decodeReply decodes and checks a reply frame.
func decodeReply(p []byte) (*Reply, error) {
	if r, ok := fastReply(p); ok {
		return r, nil
	}
	var r Reply
	if err := json.Unmarshal(p, &r); err != nil {
		return nil, fmt.Errorf("%w: reply: %v", ErrProtocol, err)
	}
	switch {
	case r.Missing:
	case r.OK && len(r.Value) == 0:
		return nil, fmt.Errorf("%w: a successful reply without a value", ErrProtocol)
	case r.OK:
	case r.Kind != KindRemoteError && r.Kind != KindInvalidTask && r.Kind != KindResultTooLarge:
		return nil, fmt.Errorf("%w: failure of unknown kind %q", ErrProtocol, r.Kind)
	}
	return &r, nil
}
