package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ProtocolVersion is bumped on every incompatible change of a payload.
const ProtocolVersion = 1

// Magic opens every Hello so that a stray client (an HTTP probe, a port
// scanner) is told apart from an old funcx manager.
const Magic = "FXGO"

// DefaultMaxFrame is the default limit on one frame: large enough for a
// batch of big results, small enough that a bad length cannot exhaust memory.
const DefaultMaxFrame = 64 << 20

// MsgType is the first byte of a frame.
type MsgType uint8

const (
	MsgHello     MsgType = 1  // manager -> interchange: who I am, the secret
	MsgWelcome   MsgType = 2  // interchange -> manager: accepted, timing
	MsgRefused   MsgType = 3  // interchange -> manager: refused, why
	MsgTasks     MsgType = 4  // a batch of tasks (interchange -> manager -> worker)
	MsgResults   MsgType = 5  // a batch of results (worker -> manager -> interchange)
	MsgHeartbeat MsgType = 6  // either way, empty
	MsgDrain     MsgType = 7  // manager -> interchange: send no more tasks
	MsgReturn    MsgType = 8  // manager -> interchange, worker -> manager: tasks handed back unstarted
	MsgShutdown  MsgType = 9  // interchange -> manager: stop now
	MsgReady     MsgType = 10 // worker -> manager: ready for a task
	MsgStatus    MsgType = 11 // manager -> interchange: worker figures per container type
	MsgReclaim   MsgType = 12 // manager -> worker: hand back the queued tasks not started yet
)

func (t MsgType) String() string {
	switch t {
	case MsgHello:
		return "hello"
	case MsgWelcome:
		return "welcome"
	case MsgRefused:
		return "refused"
	case MsgTasks:
		return "tasks"
	case MsgResults:
		return "results"
	case MsgHeartbeat:
		return "heartbeat"
	case MsgDrain:
		return "drain"
	case MsgReturn:
		return "return"
	case MsgShutdown:
		return "shutdown"
	case MsgReady:
		return "ready"
	case MsgStatus:
		return "status"
	case MsgReclaim:
		return "reclaim"
	}
	return fmt.Sprintf("MsgType(%d)", uint8(t))
}

// ErrFrameTooLarge is returned for a frame whose declared length exceeds the
// reader's or writer's limit.
var ErrFrameTooLarge = errors.New("wire: frame too large")

// Reader reads frames from a stream.
type Reader struct {
	r   *bufio.Reader
	max int
	hdr [5]byte
}

// NewReader returns a Reader that refuses frames longer than maxFrame
// (DefaultMaxFrame if maxFrame <= 0).
func NewReader(r io.Reader, maxFrame int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: maxFrame}
}

// ReadFrame reads the next frame. The payload is freshly allocated and
// owned by the caller; decoded messages may alias it.
func (r *Reader) ReadFrame() (MsgType, []byte, error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("wire: read frame header: %w", err)
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(r.hdr[:4])
	if n == 0 {
		return 0, nil, fmt.Errorf("wire: frame of length 0 has no type")
	}
	if int64(n) > int64(r.max) {
		return 0, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, r.max)
	}
	typ := MsgType(r.hdr[4])
	payload := make([]byte, n-1)
	if _, err := io.ReadFull(r.r, payload); err != nil {
		return 0, nil, fmt.Errorf("wire: read %s frame of %d bytes: %w", typ, n, noEOF(err))
	}
	return typ, payload, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Writer writes frames to a stream through a buffer. It is not safe for
// concurrent use; callers serialise writes (one writer goroutine per
// connection is the pattern) and Flush when the batch is out.
type Writer struct {
	w   *bufio.Writer
	max int
}

// NewWriter returns a Writer that refuses to send frames longer than
// maxFrame (DefaultMaxFrame if maxFrame <= 0).
func NewWriter(w io.Writer, maxFrame int) *Writer {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), max: maxFrame}
}

// WriteFrame buffers one frame.
func (w *Writer) WriteFrame(typ MsgType, payload []byte) error {
	n := len(payload) + 1
	if n > w.max {
		return fmt.Errorf("%w: %s frame of %d bytes, limit %d", ErrFrameTooLarge, typ, n, w.max)
	}
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(n))
	hdr[4] = byte(typ)
	if _, err := w.w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.w.Write(payload)
	return err
}

// Flush sends what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }

// Buffered reports how many bytes wait for Flush.
func (w *Writer) Buffered() int { return w.w.Buffered() }

// MaxFrame is the writer's frame limit.
func (w *Writer) MaxFrame() int { return w.max }
