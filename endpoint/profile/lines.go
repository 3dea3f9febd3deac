package profile

import (
	"strconv"
	"strings"
)

// BurntSushi/toml keeps the position of every key but does not export it,
// so this scanner finds them again: it reads a document the library has
// already parsed (so a valid one) just far enough to see its keys (table
// headers, keys, dotted keys, keys of inline tables) and skips the
// values. A key it fails to see only costs a message its line.

// keyLines returns the line (1-based) where each key of a valid TOML
// document is first written, by dotted name ("provider.max_blocks"); a
// dotted key or a table header also gives its parent tables a line.
func keyLines(data []byte) map[string]int {
	s := &keyScanner{src: data, line: 1, lines: map[string]int{}}
	var table []string
	for s.i < len(s.src) {
		start := s.i
		s.skipBlank()
		switch {
		case s.i >= len(s.src):
		case s.peek() == '[':
			s.i++
			if s.peek() == '[' {
				s.i++
			}
			line := s.line
			table = s.key()
			s.record(table, line)
			s.skipLine()
		default:
			s.keyValue(table)
		}
		if s.i == start { // not TOML after all: do not loop
			s.advance()
		}
	}
	return s.lines
}

type keyScanner struct {
	src   []byte
	i     int
	line  int
	lines map[string]int
}

func (s *keyScanner) peek() byte {
	if s.i < len(s.src) {
		return s.src[s.i]
	}
	return 0
}

func (s *keyScanner) advance() {
	if s.i >= len(s.src) {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
	}
	s.i++
}

// has reports whether the input continues with prefix.
func (s *keyScanner) has(prefix string) bool {
	return strings.HasPrefix(string(s.src[s.i:min(len(s.src), s.i+len(prefix))]), prefix)
}

// record gives key and its parents the line, where they have none yet.
func (s *keyScanner) record(key []string, line int) {
	for i := 1; i <= len(key); i++ {
		name := strings.Join(key[:i], ".")
		if _, seen := s.lines[name]; !seen {
			s.lines[name] = line
		}
	}
}

// skipSpace skips spaces and tabs.
func (s *keyScanner) skipSpace() {
	for s.peek() == ' ' || s.peek() == '\t' {
		s.i++
	}
}

// skipBlank skips whitespace, newlines and comments.
func (s *keyScanner) skipBlank() {
	for s.i < len(s.src) {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.advance()
		case '#':
			for s.i < len(s.src) && s.peek() != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

// skipLine skips the rest of the line (a header's closing brackets, a
// comment).
func (s *keyScanner) skipLine() {
	for s.i < len(s.src) && s.peek() != '\n' {
		s.i++
	}
}

// keyValue reads `key = value`, recording the key and those of an inline
// table value.
func (s *keyScanner) keyValue(table []string) {
	line := s.line
	key := append(append([]string(nil), table...), s.key()...)
	s.record(key, line)
	s.skipSpace()
	if s.peek() == '=' {
		s.i++
	}
	s.skipSpace()
	s.value(key)
}

// key reads a key: bare or quoted parts joined by dots.
func (s *keyScanner) key() []string {
	var parts []string
	for {
		s.skipSpace()
		parts = append(parts, s.keyPart())
		s.skipSpace()
		if s.peek() != '.' {
			return parts
		}
		s.i++
	}
}

func (s *keyScanner) keyPart() string {
	switch s.peek() {
	case '"':
		start := s.i
		s.skipString()
		return unquoteBasic(string(s.src[start+1 : max(start+1, s.i-1)]))
	case '\'':
		start := s.i
		s.skipString()
		return string(s.src[start+1 : max(start+1, s.i-1)])
	}
	start := s.i
	for s.i < len(s.src) && isBareKeyByte(s.src[s.i]) {
		s.i++
	}
	return string(s.src[start:s.i])
}

func isBareKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips a value; the keys of inline tables in it are recorded
// under key.
func (s *keyScanner) value(key []string) {
	switch s.peek() {
	case '"', '\'':
		s.skipString()
	case '[':
		s.i++
		s.items(']', func() { s.value(key) })
	case '{':
		s.i++
		s.items('}', func() { s.keyValue(key) })
	default: // a number, boolean or date: up to what ends a value
		for s.i < len(s.src) && !strings.ContainsRune(",]}#\r\n", rune(s.peek())) {
			s.i++
		}
	}
}

// items reads the comma-separated items of an array or inline table up to
// its closing byte.
func (s *keyScanner) items(end byte, item func()) {
	for s.i < len(s.src) {
		s.skipBlank()
		switch {
		case s.i >= len(s.src):
			return
		case s.peek() == end:
			s.i++
			return
		case s.peek() == ',':
			s.i++
			continue
		}
		start := s.i
		item()
		if s.i == start {
			s.advance()
		}
	}
}

// skipString skips a basic, literal or multi-line string.
func (s *keyScanner) skipString() {
	q := s.peek()
	if s.has(strings.Repeat(string(q), 3)) {
		s.i += 3
		for s.i < len(s.src) {
			if q == '"' && s.peek() == '\\' {
				s.advance()
				if s.i < len(s.src) {
					s.advance()
				}
				continue
			}
			if s.has(strings.Repeat(string(q), 3)) {
				s.i += 3
				// Up to two more quotes belong to the string: """a""""".
				for n := 0; n < 2 && s.peek() == q; n++ {
					s.i++
				}
				return
			}
			s.advance()
		}
		return
	}
	s.i++
	for s.i < len(s.src) && s.peek() != '\n' {
		c := s.peek()
		s.i++
		if c == '\\' && q == '"' && s.i < len(s.src) && s.peek() != '\n' {
			s.i++
		} else if c == q {
			return
		}
	}
}

// unquoteBasic resolves the escapes of a basic string's content; content
// it cannot resolve is kept as written.
func unquoteBasic(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	for rest := raw; rest != ""; {
		if strings.HasPrefix(rest, `\e`) {
			b.WriteByte(0x1b)
			rest = rest[2:]
			continue
		}
		r, _, tail, err := strconv.UnquoteChar(rest, '"')
		if err != nil {
			return raw
		}
		b.WriteRune(r)
		rest = tail
	}
	return b.String()
}
