package client

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// resultsStream asks for the results after the cursor after as a stream
// (stream=1) and hands each page to onPage as it arrives, until the
// service ends the stream when wait has passed. A service that does not
// stream answers with one page, which onPage gets all the same. Unlike
// Results it is not retried: pages already handed over would come again,
// and the caller (the watcher) retries from its moved cursor.
func (c *Client) resultsStream(ctx context.Context, after int64, wait time.Duration, limit int, onPage func(*api.ResultsPage)) error {
	q, wait := resultsQuery(after, wait, limit)
	q.Set("stream", "1")
	k := call{method: http.MethodGet, path: api.PathResults, query: q, extraTimeout: wait,
		stream: func(contentType string, body io.Reader) error {
			return readResultsStream(contentType, body, c.cfg.MaxResponseBytes, onPage)
		}}
	if err := c.do(ctx, k); err != nil {
		return fmt.Errorf("get results after %d: %w", after, err)
	}
	return nil
}

// readResultsStream reads a results answer: a stream of pages, one per
// line, or (from a service that does not stream) a single page. Each
// page may take up to limit bytes.
func readResultsStream(contentType string, body io.Reader, limit int64, onPage func(*api.ResultsPage)) error {
	decode := func(data []byte) error {
		var page api.ResultsPage
		if err := decodeResultsPage(data, &page); err != nil {
			return fmt.Errorf("decode a results page: %w", err)
		}
		onPage(&page)
		return nil
	}
	if mt, _, _ := mime.ParseMediaType(contentType); mt != api.ContentTypeResultsStream {
		data, err := readAll(body, limit)
		if err != nil {
			return err
		}
		return decode(data)
	}
	return readLines(body, limit, func(line []byte) error {
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
		return decode(line)
	})
}

// readLines calls fn with each newline-terminated line of r, without its
// newline, as soon as the line is complete; a line is valid only during
// the call. A line longer than limit is errBodyTooLarge; bytes after the
// last newline (a stream cut short) are io.ErrUnexpectedEOF.
func readLines(r io.Reader, limit int64, fn func(line []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte // a line longer than br's buffer, gathered
	gathering := false
	for {
		chunk, err := br.ReadSlice('\n')
		line := chunk
		if gathering || err == bufio.ErrBufferFull {
			long = append(long, chunk...)
			line = long
			gathering = err == bufio.ErrBufferFull
		}
		if int64(len(bytes.TrimSuffix(line, []byte("\n")))) > limit {
			return fmt.Errorf("%w (%d bytes) in one line of a results stream", errBodyTooLarge, limit)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF:
			if len(line) > 0 {
				return fmt.Errorf("a results stream ended in the middle of a line: %w", io.ErrUnexpectedEOF)
			}
			return nil
		case err != nil:
			return err
		}
		if err := fn(line[:len(line)-1]); err != nil {
			return err
		}
		long = long[:0]
	}
}
