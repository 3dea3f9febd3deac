//go:build unix

package rawio

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Reader returns a reader of r's descriptor that reads with raw system
// calls, or r itself when r has no descriptor (syscall.Conn) or its
// descriptor is blocking, where a raw read could stall the thread
// unbeknown to the scheduler.
func Reader(r io.Reader) io.Reader {
	if rc, ok := nonBlocking(r); ok {
		return reader{rc}
	}
	return r
}

// Writer returns a writer of w's descriptor that writes with raw system
// calls, or w itself, as Reader does.
func Writer(w io.Writer) io.Writer {
	if rc, ok := nonBlocking(w); ok {
		return writer{rc}
	}
	return w
}

// nonBlocking returns the raw descriptor of v if it has one in
// non-blocking mode.
func nonBlocking(v any) (syscall.RawConn, bool) {
	sc, ok := v.(syscall.Conn)
	if !ok {
		return nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	var flags uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		flags, _, errno = syscall.RawSyscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil || errno != 0 {
		return nil, false
	}
	return rc, flags&syscall.O_NONBLOCK != 0
}

type reader struct{ rc syscall.RawConn }

func (r reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n uintptr
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch errno {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait for the poller
			}
			return true
		}
	})
	acquired()
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, os.NewSyscallError("read", errno)
	case n == 0:
		return 0, io.EOF
	}
	return int(n), nil
}

type writer struct{ rc syscall.RawConn }

func (w writer) Write(p []byte) (int, error) {
	done := 0
	var errno syscall.Errno
	released()
	err := w.rc.Write(func(fd uintptr) bool {
		for done < len(p) {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[done])), uintptr(len(p)-done))
			switch e {
			case 0:
				done += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait for room
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return done, err
	case errno != 0:
		return done, os.NewSyscallError("write", errno)
	}
	return done, nil
}
