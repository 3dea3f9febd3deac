package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrMalformed wraps every decoding failure of a payload.
var ErrMalformed = errors.New("wire: malformed payload")

// enc appends primitive values to a byte slice.
type enc struct{ b []byte }

func (e *enc) u8(v uint8)       { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) bytes(v []byte)   { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) str(v string)     { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) bool(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}
func (e *enc) strs(v []string) {
	e.uvarint(uint64(len(v)))
	for _, s := range v {
		e.str(s)
	}
}
func (e *enc) time(t time.Time) {
	if t.IsZero() {
		e.varint(0)
		return
	}
	e.varint(t.UnixNano())
}

// dec reads primitive values; the first failure sticks in err and every
// later read returns zero values, so decoders check err once at the end.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
}

func (d *dec) u8(what string) uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail(what + ": truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what + ": bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what + ": bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a non-negative uvarint that must fit in an int below limit.
func (d *dec) int(what string, limit uint64) int {
	v := d.uvarint(what)
	if d.err == nil && v > limit {
		d.fail(fmt.Sprintf("%s: %d exceeds %d", what, v, limit))
		return 0
	}
	return int(v)
}

func (d *dec) sint(what string) int {
	v := d.varint(what)
	if d.err == nil && (v > math.MaxInt32 || v < math.MinInt32) {
		d.fail(what + ": out of range")
		return 0
	}
	return int(v)
}

// count reads an element count; every element takes at least minSize bytes,
// so a count larger than the remaining bytes allow is malformed. This keeps
// a forged count from allocating more than the frame itself.
func (d *dec) count(what string, minSize int) int {
	v := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if v > uint64(len(d.b)/minSize) {
		d.fail(fmt.Sprintf("%s: count %d exceeds remaining %d bytes", what, v, len(d.b)))
		return 0
	}
	return int(v)
}

// bytes returns a sub-slice of the payload (no copy); nil when empty.
func (d *dec) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(fmt.Sprintf("%s: length %d exceeds remaining %d bytes", what, n, len(d.b)))
		return nil
	}
	if n == 0 {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str(what string) string { return string(d.bytes(what)) }

func (d *dec) bool(what string) bool {
	switch d.u8(what) {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail(what + ": not a bool")
	return false
}

func (d *dec) strs(what string) []string {
	n := d.count(what, 1)
	if n == 0 {
		return nil
	}
	v := make([]string, n)
	for i := range v {
		v[i] = d.str(what)
	}
	return v
}

func (d *dec) time(what string) time.Time {
	ns := d.varint(what)
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func (d *dec) fixed(what string, dst []byte) {
	if d.err != nil {
		return
	}
	if len(d.b) < len(dst) {
		d.fail(what + ": truncated")
		return
	}
	copy(dst, d.b)
	d.b = d.b[len(dst):]
}

// done fails if bytes remain: a payload must be consumed exactly.
func (d *dec) done(what string) error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%s: %d trailing bytes", what, len(d.b)))
	}
	return d.err
}
