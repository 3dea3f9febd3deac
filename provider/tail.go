package provider

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// DefaultTailBytes is how much of the end of a job's stderr ReadTail reads
// by default: enough for a traceback's last lines, small enough for a log
// line.
const DefaultTailBytes = 2048

// ReadTail returns the last maxBytes bytes of the file at path (fewer if
// the file is shorter), starting at a line boundary when it can and with
// surrounding white space trimmed. Providers put it in the Message of a
// failed job so that the user sees why a block died without opening
// files. maxBytes <= 0 means DefaultTailBytes.
func ReadTail(path string, maxBytes int) (string, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultTailBytes
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read tail of %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read tail of %s: %w", path, err)
	}
	start := max(fi.Size()-int64(maxBytes), 0)
	// Read one byte more than kept, to know whether the window starts at
	// a line boundary.
	from := max(start-1, 0)
	buf := make([]byte, fi.Size()-from)
	if _, err := f.ReadAt(buf, from); err != nil && err != io.EOF {
		return "", fmt.Errorf("read tail of %s: %w", path, err)
	}
	s := string(buf[start-from:])
	if start > 0 && buf[0] != '\n' {
		// Drop the partial first line, unless that would drop everything.
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:]
		}
	}
	// A byte window may start inside a multi-byte character.
	return strings.TrimSpace(strings.ToValidUTF8(s, "")), nil
}
