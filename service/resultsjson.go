package service

import (
	"encoding/base64"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/funcx-go/funcx/service/api"
)

// appendResultsPage appends p in JSON, with the fields, omissions and
// string escapes encoding/json gives it, and a newline, like
// json.Encoder. Every result leaves through the results long poll, and
// encoding/json's reflection cost about 3 µs per result there in the
// end-to-end benchmark. TestAppendResultsPage holds the two equal.
func appendResultsPage(b []byte, p *api.ResultsPage) []byte {
	b = append(b, `{"results":`...)
	if p.Results == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range p.Results {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendTaskResult(b, &p.Results[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"next":`...)
	b = strconv.AppendInt(b, p.Next, 10)
	return append(b, "}\n"...)
}

func appendTaskResult(b []byte, r *api.TaskResult) []byte {
	b = append(b, `{"task_id":`...)
	b = appendJSONString(b, r.TaskID)
	b = append(b, `,"endpoint_id":`...)
	b = appendJSONString(b, r.EndpointID)
	b = append(b, `,"seq":`...)
	b = strconv.AppendInt(b, r.Seq, 10)
	b = append(b, `,"state":`...)
	b = appendJSONString(b, r.State)
	if len(r.Output) > 0 {
		// Valid JSON: taskResult passes only that (jsonOutput).
		b = append(b, `,"output":`...)
		b = append(b, r.Output...)
	}
	if len(r.Stdout) > 0 {
		b = append(b, `,"stdout":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.Stdout)
		b = append(b, '"')
	}
	if len(r.Stderr) > 0 {
		b = append(b, `,"stderr":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.Stderr)
		b = append(b, '"')
	}
	if r.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	b = append(b, `,"exit_code":`...)
	b = strconv.AppendInt(b, int64(r.ExitCode), 10)
	if e := r.Error; e != nil {
		b = append(b, `,"error":{"kind":`...)
		b = appendJSONString(b, e.Kind)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, e.Message)
		if e.Stack != "" {
			b = append(b, `,"stack":`...)
			b = appendJSONString(b, e.Stack)
		}
		b = append(b, '}')
	}
	if r.Attempt != 0 {
		b = append(b, `,"attempt":`...)
		b = strconv.AppendInt(b, int64(r.Attempt), 10)
	}
	if r.Manager != "" {
		b = append(b, `,"manager":`...)
		b = appendJSONString(b, r.Manager)
	}
	b = append(b, `,"worker":`...)
	b = strconv.AppendInt(b, int64(r.Worker), 10)
	b = append(b, `,"times":{`...)
	t := &r.Times
	comma := false
	for _, f := range [...]struct {
		name string
		t    time.Time
	}{{"submitted", t.Submitted}, {"received", t.Received}, {"dispatched", t.Dispatched},
		{"started", t.Started}, {"finished", t.Finished}, {"stored", t.Stored}} {
		if f.t.IsZero() {
			continue
		}
		if comma {
			b = append(b, ',')
		}
		comma = true
		b = append(b, '"')
		b = append(b, f.name...)
		b = append(b, `":"`...)
		b = f.t.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	return append(b, "}}"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json quotes it: control
// characters, quotes, backslashes, <, > and & escaped, U+2028 and U+2029
// too, and invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
