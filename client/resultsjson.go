package client

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/funcx-go/funcx/service/api"
)

// decodeResultsPage decodes a results page. Every result arrives this
// way, and encoding/json cost about 6 µs of the client's CPU per result
// in the end-to-end benchmark, so pages in the form the service writes
// (its fields, in its order, no nulls but the error's and the results',
// strings without \u escapes of surrogates) are read by hand; any other
// form goes to encoding/json, which then decides, so the outcome is
// encoding/json's either way (TestDecodeResultsPage, FuzzDecodeResultsPage).
func decodeResultsPage(data []byte, page *api.ResultsPage) error {
	d := pageDecoder{data: data}
	if p, ok := d.page(); ok {
		*page = p
		return nil
	}
	*page = api.ResultsPage{}
	return json.Unmarshal(data, page)
}

// pageDecoder reads the service's form of a results page; each method
// reports false on anything else.
type pageDecoder struct {
	data []byte
	i    int
}

func (d *pageDecoder) page() (p api.ResultsPage, ok bool) {
	if !d.lit("{") || !d.key("results") {
		return p, false
	}
	if d.lit("null") {
		p.Results = nil
	} else {
		if !d.lit("[") {
			return p, false
		}
		p.Results = []api.TaskResult{}
		for !d.lit("]") {
			if len(p.Results) > 0 && !d.lit(",") {
				return p, false
			}
			var r api.TaskResult
			if !d.result(&r) {
				return p, false
			}
			p.Results = append(p.Results, r)
		}
	}
	if !d.lit(",") || !d.key("next") || !d.int64(&p.Next) || !d.lit("}") {
		return p, false
	}
	d.space()
	return p, d.i == len(d.data)
}

// result reads the fields appendTaskResult writes, in its order, the
// optional ones only if present.
func (d *pageDecoder) result(r *api.TaskResult) bool {
	if !d.lit("{") ||
		!d.key("task_id") || !d.str(&r.TaskID) || !d.lit(",") ||
		!d.key("endpoint_id") || !d.str(&r.EndpointID) || !d.lit(",") ||
		!d.key("seq") || !d.int64(&r.Seq) || !d.lit(",") ||
		!d.key("state") || !d.str(&r.State) || !d.lit(",") {
		return false
	}
	if d.key("output") && (!d.raw(&r.Output) || !d.lit(",")) {
		return false
	}
	if d.key("stdout") && (!d.bytes(&r.Stdout) || !d.lit(",")) {
		return false
	}
	if d.key("stderr") && (!d.bytes(&r.Stderr) || !d.lit(",")) {
		return false
	}
	if d.key("truncated") && (!d.bool(&r.Truncated) || !d.lit(",")) {
		return false
	}
	if !d.key("exit_code") || !d.int(&r.ExitCode) || !d.lit(",") {
		return false
	}
	if d.key("error") {
		r.Error = &api.TaskError{}
		e := r.Error
		if !d.lit("{") || !d.key("kind") || !d.str(&e.Kind) || !d.lit(",") || !d.key("message") || !d.str(&e.Message) {
			return false
		}
		if d.lit(",") && (!d.key("stack") || !d.str(&e.Stack)) {
			return false
		}
		if !d.lit("}") || !d.lit(",") {
			return false
		}
	}
	if d.key("attempt") && (!d.int(&r.Attempt) || !d.lit(",")) {
		return false
	}
	if d.key("manager") && (!d.str(&r.Manager) || !d.lit(",")) {
		return false
	}
	if !d.key("worker") || !d.int(&r.Worker) || !d.lit(",") || !d.key("times") || !d.lit("{") {
		return false
	}
	t := &r.Times
	first := true
	for _, f := range [...]struct {
		name string
		dst  interface{ UnmarshalJSON([]byte) error }
	}{{"submitted", &t.Submitted}, {"received", &t.Received}, {"dispatched", &t.Dispatched},
		{"started", &t.Started}, {"finished", &t.Finished}, {"stored", &t.Stored}} {
		save := d.i
		if !first && !d.lit(",") {
			continue
		}
		if !d.key(f.name) {
			d.i = save
			continue
		}
		first = false
		start := d.i
		var s string
		if !d.str(&s) || f.dst.UnmarshalJSON(d.data[start:d.i]) != nil {
			return false
		}
	}
	return d.lit("}") && d.lit("}")
}

// space skips JSON whitespace.
func (d *pageDecoder) space() {
	for d.i < len(d.data) {
		switch d.data[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// lit consumes s, after whitespace, if it comes next.
func (d *pageDecoder) lit(s string) bool {
	d.space()
	if !bytes.HasPrefix(d.data[d.i:], []byte(s)) {
		return false
	}
	d.i += len(s)
	return true
}

// key consumes `"name":` if it comes next.
func (d *pageDecoder) key(name string) bool {
	save := d.i
	d.space()
	if d.i+len(name)+2 > len(d.data) || d.data[d.i] != '"' || string(d.data[d.i+1:d.i+1+len(name)]) != name || d.data[d.i+1+len(name)] != '"' {
		d.i = save
		return false
	}
	d.i += len(name) + 2
	if !d.lit(":") {
		d.i = save
		return false
	}
	return true
}

// str reads a string; escapes other than \uXXXX of a surrogate, and
// invalid UTF-8 (which encoding/json replaces), are left to encoding/json.
func (d *pageDecoder) str(s *string) bool {
	d.space()
	if d.i >= len(d.data) || d.data[d.i] != '"' {
		return false
	}
	d.i++
	start := d.i
	for d.i < len(d.data) {
		switch c := d.data[d.i]; {
		case c == '"':
			raw := d.data[start:d.i]
			d.i++
			if !utf8.Valid(raw) {
				return false
			}
			*s = string(raw)
			return true
		case c == '\\':
			return d.escaped(s, start)
		case c < 0x20:
			return false
		default:
			d.i++
		}
	}
	return false
}

// escaped finishes a string with escapes that str began at start.
func (d *pageDecoder) escaped(s *string, start int) bool {
	b := append([]byte(nil), d.data[start:d.i]...)
	for d.i < len(d.data) {
		c := d.data[d.i]
		switch {
		case c == '"':
			d.i++
			if !utf8.Valid(b) {
				return false
			}
			*s = string(b)
			return true
		case c < 0x20:
			return false
		case c != '\\':
			b = append(b, c)
			d.i++
			continue
		}
		if d.i+1 >= len(d.data) {
			return false
		}
		switch e := d.data[d.i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			if d.i+6 > len(d.data) {
				return false
			}
			r, err := strconv.ParseUint(string(d.data[d.i+2:d.i+6]), 16, 16)
			if err != nil || (r >= 0xD800 && r < 0xE000) {
				return false
			}
			b = utf8.AppendRune(b, rune(r))
			d.i += 4
		default:
			return false
		}
		d.i += 2
	}
	return false
}

// raw reads a JSON value whole: it must be valid JSON, as encoding/json
// checks.
func (d *pageDecoder) raw(m *json.RawMessage) bool {
	d.space()
	start := d.i
	depth := 0
	for d.i < len(d.data) {
		switch c := d.data[d.i]; c {
		case '{', '[':
			depth++
			d.i++
		case '}', ']':
			if depth == 0 {
				return d.validRaw(m, start)
			}
			depth--
			d.i++
		case ',':
			if depth == 0 {
				return d.validRaw(m, start)
			}
			d.i++
		case '"':
			var s string
			if !d.str(&s) {
				return false
			}
		default:
			d.i++
		}
	}
	return false
}

func (d *pageDecoder) validRaw(m *json.RawMessage, start int) bool {
	v := bytes.TrimRight(d.data[start:d.i], " \t\r\n")
	if len(v) == 0 || !json.Valid(v) {
		return false
	}
	*m = append(json.RawMessage(nil), v...)
	return true
}

// bytes reads a base64 string, as encoding/json decodes []byte.
func (d *pageDecoder) bytes(b *[]byte) bool {
	var s string
	if !d.str(&s) {
		return false
	}
	// Never nil, like encoding/json's.
	out, err := base64.StdEncoding.AppendDecode(make([]byte, 0, base64.StdEncoding.DecodedLen(len(s))), []byte(s))
	if err != nil {
		return false
	}
	*b = out
	return true
}

func (d *pageDecoder) bool(b *bool) bool {
	switch {
	case d.lit("true"):
		*b = true
	case d.lit("false"):
		*b = false
	default:
		return false
	}
	return true
}

// int64 reads an integer: a minus sign perhaps, then digits with no
// leading zero, no fraction or exponent.
func (d *pageDecoder) int64(n *int64) bool {
	d.space()
	start := d.i
	if d.i < len(d.data) && d.data[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.data) && d.data[d.i] >= '0' && d.data[d.i] <= '9' {
		d.i++
	}
	if d.i-digits > 1 && d.data[digits] == '0' {
		return false // a leading zero: not JSON
	}
	v, err := strconv.ParseInt(string(d.data[start:d.i]), 10, 64)
	if err != nil || (d.i < len(d.data) && (d.data[d.i] == '.' || d.data[d.i] == 'e' || d.data[d.i] == 'E')) {
		return false
	}
	*n = v
	return true
}

func (d *pageDecoder) int(n *int) bool {
	var v int64
	if !d.int64(&v) || int64(int(v)) != v {
		return false
	}
	*n = int(v)
	return true
}
