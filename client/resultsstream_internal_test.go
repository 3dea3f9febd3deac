package client

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/funcx-go/funcx/service/api"
)

func TestReadLines(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 200<<10) // longer than the reader's buffer
	for _, tc := range []struct {
		name, in string
		limit    int64
		want     []string
		err      error
	}{
		{name: "lines", in: "a\nbc\n\nd\n", limit: 10, want: []string{"a", "bc", "", "d"}},
		{name: "empty", in: "", limit: 10},
		{name: "cut short", in: "a\nbc", limit: 10, want: []string{"a"}, err: io.ErrUnexpectedEOF},
		{name: "line at the limit", in: "abc\n", limit: 3, want: []string{"abc"}},
		{name: "line over the limit", in: "a\nabcd\n", limit: 3, want: []string{"a"}, err: errBodyTooLarge},
		{name: "long lines", in: long + "\n" + long + "y\nz\n", limit: 1 << 20, want: []string{long, long + "y", "z"}},
		{name: "long line over the limit", in: long + "\n", limit: 100 << 10, err: errBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			// One byte per read: lines arrive in pieces, as from a network.
			err := readLines(iotest.OneByteReader(strings.NewReader(tc.in)), tc.limit, func(line []byte) error {
				got = append(got, string(line))
				return nil
			})
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Fatalf("lines %d %.40q, want %d %.40q", len(got), got, len(tc.want), tc.want)
			}
		})
	}
}

func TestReadResultsStream(t *testing.T) {
	t.Parallel()
	stream := `{"results":[{"task_id":"a","seq":1}],"next":1}` + "\n\n" + `{"results":[{"task_id":"b","seq":2},{"task_id":"c","seq":3}],"next":3}` + "\n"
	var pages []api.ResultsPage
	collect := func(p *api.ResultsPage) { pages = append(pages, *p) }
	if err := readResultsStream(api.ContentTypeResultsStream+"; charset=utf-8", strings.NewReader(stream), 1<<20, collect); err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || pages[0].Results[0].TaskID != "a" || pages[1].Next != 3 || len(pages[1].Results) != 2 {
		t.Fatalf("pages %+v", pages)
	}

	// A service that does not stream answers with one page.
	pages = nil
	if err := readResultsStream("application/json", strings.NewReader(`{"results":[{"task_id":"a","seq":1}],"next":1}`), 1<<20, collect); err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 || pages[0].Next != 1 {
		t.Fatalf("pages %+v", pages)
	}

	// A bad page ends the stream with an error, after the good ones.
	pages = nil
	err := readResultsStream(api.ContentTypeResultsStream, strings.NewReader(`{"results":[],"next":4}`+"\n{nope\n"), 1<<20, collect)
	if err == nil || len(pages) != 1 || pages[0].Next != 4 {
		t.Fatalf("err %v, pages %+v", err, pages)
	}
}

// FuzzReadLines: whatever the bytes and the limit, readLines hands over
// the input's lines, in order, none longer than the limit, and fails
// only for a line over the limit or a cut-short last line.
func FuzzReadLines(f *testing.F) {
	f.Add([]byte("a\nbc\n"), int64(10))
	f.Add([]byte("abc"), int64(2))
	f.Add([]byte("\n\n\n"), int64(0))
	f.Add(bytes.Repeat([]byte("y"), 70<<10), int64(80<<10))
	f.Fuzz(func(t *testing.T, data []byte, limit int64) {
		limit = max(limit, 0)
		var got [][]byte
		err := readLines(bytes.NewReader(data), limit, func(line []byte) error {
			if int64(len(line)) > limit {
				t.Fatalf("a line of %d bytes passed the limit %d", len(line), limit)
			}
			got = append(got, bytes.Clone(line))
			return nil
		})
		var joined []byte
		for _, l := range got {
			joined = append(append(joined, l...), '\n')
		}
		if !bytes.HasPrefix(data, joined) {
			t.Fatalf("lines %q are not the input's %q", got, data)
		}
		rest := data[len(joined):]
		switch {
		case err == nil && len(rest) != 0:
			t.Fatalf("%d bytes left unread without an error", len(rest))
		case err != nil && !errors.Is(err, errBodyTooLarge) && !errors.Is(err, io.ErrUnexpectedEOF):
			t.Fatalf("unexpected error %v", err)
		case errors.Is(err, io.ErrUnexpectedEOF) && (bytes.IndexByte(rest, '\n') >= 0 || int64(len(rest)) > limit):
			t.Fatalf("cut short reported for %q", rest)
		}
	})
}
