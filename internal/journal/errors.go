package journal

import (
	"errors"
	"fmt"
)

var (
	// ErrLocked means another process (another endpoint daemon on the
	// same profile) holds the journal open.
	ErrLocked = errors.New("journal is locked by another process: is another endpoint running on this profile?")
	// ErrClosed is returned by calls on a closed Journal.
	ErrClosed = errors.New("journal is closed")
	// ErrFailed is returned by every write after a commit failed: after a
	// failed fsync nothing is known about what reached the disk, so the
	// journal must be reopened, which reads back the truth.
	ErrFailed = errors.New("an earlier journal commit failed: reopen the journal")
	// ErrFormat means the file is not a journal this build can read: an
	// unknown format version, or missing tables.
	ErrFormat = errors.New("unsupported journal format")
)

// RecordError reports a record that cannot be decoded: why a record was
// moved to the quarantine table (see Failures in the package doc).
type RecordError struct {
	Table string // "tasks", "outbox" or "done"
	Key   []byte // the record's key: 8-byte sequence then 16-byte task ID
	Err   error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("journal record %s/%s: %v", e.Table, describeKey(e.Key), e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }
