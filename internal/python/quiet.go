package python

import (
	"encoding/binary"
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// The quiet reply pipe. The driver writes most replies to the reply pipe,
// which the runtime's poller watches: each wakes the worker. But when the
// worker has sent calls ahead and they are short, waking it for each
// reply costs more than the call. So the reply of a short call that asked
// for it (Call.Hold), with the next call already waiting, goes to the
// quiet pipe instead, which nothing watches; the next reply written to
// the reply pipe wakes the worker for all of them (driver.py has the
// rules). The replies are in a pipe as soon as their call returns, so a
// crash of a later call loses none of them, and a worker that waits long
// for a reply looks in the quiet pipe too (await), so a short function
// that turns long holds back no earlier reply for more than a moment.

// quiet is our end of the quiet pipe: a non-blocking descriptor kept out
// of the runtime's poller, read only when a reply is wanted.
type quiet struct {
	fd  int
	buf []byte // read and not taken; buf[off:] is left
	off int
}

// quietBuffer is the size of one read from the quiet pipe: the driver
// keeps less than that in it (QUIET_BYTES).
const quietBuffer = 32 << 10

// newQuiet opens the quiet pipe; w is the driver's end.
func newQuiet() (*quiet, *os.File, error) {
	var fds [2]int
	syscall.ForkLock.RLock() // no fork between pipe and close-on-exec
	err := syscall.Pipe(fds[:])
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("quiet reply pipe: %w", err)
	}
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, nil, fmt.Errorf("quiet reply pipe: %w", err)
	}
	return &quiet{fd: fds[0]}, os.NewFile(uintptr(fds[1]), "quiet-replies"), nil
}

// fill reads what the pipe holds, without waiting.
func (q *quiet) fill() error {
	for {
		if q.off > 0 && q.off == len(q.buf) {
			q.buf, q.off = q.buf[:0], 0
		}
		if cap(q.buf)-len(q.buf) < quietBuffer {
			grown := make([]byte, len(q.buf)-q.off, len(q.buf)-q.off+2*quietBuffer)
			copy(grown, q.buf[q.off:])
			q.buf, q.off = grown, 0
		}
		room := q.buf[len(q.buf):cap(q.buf)]
		// Raw: a non-blocking read returns at once (see rawio).
		n, _, errno := syscall.RawSyscall(syscall.SYS_READ, uintptr(q.fd), uintptr(unsafe.Pointer(&room[0])), uintptr(len(room)))
		switch errno {
		case 0:
			if n == 0 { // the driver is gone; the replies before are here
				return nil
			}
			q.buf = q.buf[:len(q.buf)+int(n)]
			if int(n) < len(room) {
				return nil
			}
		case syscall.EINTR:
		case syscall.EAGAIN:
			return nil
		default:
			return os.NewSyscallError("read quiet reply pipe", errno)
		}
	}
}

// next takes the next whole frame read, if there is one.
func (q *quiet) next(limit int) ([]byte, bool, error) {
	left := q.buf[q.off:]
	if len(left) < 4 {
		return nil, false, nil
	}
	n := binary.BigEndian.Uint32(left)
	if int64(n) > int64(limit) {
		return nil, false, fmt.Errorf("%w: quiet frame of %d bytes exceeds the limit of %d", ErrProtocol, n, limit)
	}
	if len(left) < 4+int(n) {
		return nil, false, nil
	}
	frame := append([]byte(nil), left[4:4+n]...) // buf is reused
	q.off += 4 + int(n)
	return frame, true, nil
}

func (q *quiet) close() { syscall.Close(q.fd) }
