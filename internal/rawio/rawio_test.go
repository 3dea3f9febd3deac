//go:build unix

package rawio_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx/internal/rawio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pipe returns both ends of an os.Pipe, closed at cleanup.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// socketPair returns a connected pair of unix sockets as a manager and
// its worker hold them.
func socketPair(t *testing.T) (a, b net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socket")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return conn(fds[0]), conn(fds[1])
}

// A pipe's and a socket's ends get raw readers and writers, and what is
// written larger than any kernel buffer arrives whole and in order, then
// end-of-file once the writer closes.
func TestRoundTrip(t *testing.T) {
	pr, pw := pipe(t)
	sa, sb := socketPair(t)
	for _, tc := range []struct {
		name  string
		r     io.Reader
		w     io.WriteCloser
		close func()
	}{
		{"pipe", pr, pw, func() { pw.Close() }},
		{"socket", sb, sa, func() { sa.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w := rawio.Reader(tc.r), rawio.Writer(tc.w)
			if r == tc.r || w == io.Writer(tc.w) {
				t.Fatalf("a non-blocking %s got no raw reader or writer", tc.name)
			}
			want := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: many writes' worth of buffer
			done := make(chan error, 1)
			go func() {
				n, err := w.Write(want)
				if err == nil && n != len(want) {
					err = io.ErrShortWrite
				}
				tc.close()
				done <- err
			}()
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %d bytes, not the %d written", len(got), len(want))
			}
		})
	}
}

// A raw read keeps the connection's deadline and is woken by a Close
// from another goroutine, with the errors the standard Read returns.
func TestDeadlineAndClose(t *testing.T) {
	a, _ := socketPair(t)
	r := rawio.Reader(a)
	if err := a.SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if err := a.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the read wait on the poller (either way it must end)
	a.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read across a Close: %v, want net.ErrClosed", err)
	}
}

// Writing to a socket whose peer is gone fails with EPIPE, as connGone
// checks, and does not kill the process with SIGPIPE.
func TestWriteToClosedPeer(t *testing.T) {
	a, b := socketPair(t)
	b.Close()
	w := rawio.Writer(a)
	var err error
	for range 100 { // the first write may still land in the buffer
		if _, err = w.Write([]byte("frame")); err != nil {
			break
		}
	}
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("write to a closed peer: %v, want EPIPE", err)
	}
}

// A blocking descriptor, which a raw read could stall the thread on, and
// a reader without a descriptor are returned as they are.
func TestFallback(t *testing.T) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Fatal(err)
	}
	r, w := os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	defer r.Close()
	defer w.Close()
	if got := rawio.Reader(r); got != io.Reader(r) {
		t.Fatalf("blocking pipe got a raw reader %T", got)
	}
	if got := rawio.Writer(w); got != io.Writer(w) {
		t.Fatalf("blocking pipe got a raw writer %T", got)
	}
	var buf bytes.Buffer
	if got := rawio.Reader(&buf); got != io.Reader(&buf) {
		t.Fatalf("bytes.Buffer got a raw reader %T", got)
	}
}
