package profile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The daemon proves it is alive by holding an exclusive flock on
// daemon.pid for its whole life: the kernel drops the lock when the
// process dies, however it dies, so a pid file left by a crash is told
// apart from a live daemon without trusting the pid (pids are reused).
//
// daemon.pid is only ever removed by a holder of its exclusive lock (the
// daemon on a clean stop, Cleanup after a crash), and a new holder checks
// after locking that the path still names the file it locked. So a lock
// is never held on a file that was removed underneath.
//
// flock is used directly rather than through github.com/gofrs/flock, which
// creates the file it locks: a status probe must never create daemon.pid.

// RunningError says a daemon runs the profile already.
type RunningError struct {
	Name string
	PID  int
}

func (e *RunningError) Error() string {
	return fmt.Sprintf("endpoint %s is running (pid %d): stop it first with `funcx-endpoint stop %s`", e.Name, e.PID, e.Name)
}

// Lock is the daemon's hold on daemon.pid.
type Lock struct {
	f    *os.File
	path string
}

// lockPIDFile opens daemon.pid (creating it if create is set) and locks
// it exclusively without waiting. It returns a *RunningError if a daemon
// holds the lock, and fs.ErrNotExist if there is no file and create is
// false.
func (p *Profile) lockPIDFile(create bool) (*os.File, error) {
	path := p.Path(PIDFile)
	for {
		flags := os.O_RDWR
		if create {
			flags |= os.O_CREATE
		}
		f, err := os.OpenFile(path, flags, 0o600)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			pid := readPID(f)
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, &RunningError{Name: p.Name, PID: pid}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if sameFile(f, path) {
			return f, nil
		}
		// Removed (a stop or a clean-up) between open and lock: again.
		f.Close()
		if !create {
			return nil, fs.ErrNotExist
		}
	}
}

// AcquireDaemonLock makes this process the profile's daemon: it locks
// daemon.pid and writes its pid there. It fails with a *RunningError if
// another daemon holds the lock. Release undoes it on a clean stop.
func (p *Profile) AcquireDaemonLock() (*Lock, error) {
	f, err := p.lockPIDFile(true)
	if err != nil {
		return nil, err
	}
	pid := strconv.Itoa(os.Getpid()) + "\n"
	if err := errors.Join(f.Truncate(0), writeAt0(f, pid), f.Sync()); err != nil {
		f.Close()
		return nil, fmt.Errorf("write %s: %w", p.Path(PIDFile), err)
	}
	return &Lock{f: f, path: p.Path(PIDFile)}, nil
}

func writeAt0(f *os.File, s string) error {
	_, err := f.WriteAt([]byte(s), 0)
	return err
}

// Release removes daemon.pid and drops the lock: the mark of a clean stop.
func (l *Lock) Release() error {
	err := os.Remove(l.path)
	return errors.Join(err, l.f.Close())
}

// probe reports whether a daemon holds daemon.pid (and its pid), and
// whether the file exists at all.
func (p *Profile) probe() (running bool, pid int, exists bool, err error) {
	path := p.Path(PIDFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, 0, false, nil
	}
	if err != nil {
		return false, 0, false, err
	}
	defer f.Close()
	pid = readPID(f)
	err = unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return true, pid, true, nil
	}
	if err != nil {
		return false, pid, true, fmt.Errorf("probe %s: %w", path, err)
	}
	// Unlocked. A clean stop removes the file before it unlocks, so a
	// file still in place is a crash's leftover.
	return false, pid, sameFile(f, path), nil
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	return pid
}

// sameFile reports whether path still names the open file f.
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// ErrBusy is returned by LockCommand while another command holds the
// profile.
var ErrBusy = errors.New("another funcx-endpoint command is starting, stopping or deleting this endpoint")

// LockCommand serializes the commands that change a profile's state
// (start, stop, restart, delete): two starts at once would both register,
// and the second registration rotates the broker credentials of the
// first daemon. The lock is an flock on the profile directory, released
// by unlock or when the process exits; daemons do not inherit it.
func (p *Profile) LockCommand() (unlock func(), err error) {
	f, err := os.Open(p.Dir())
	if err != nil {
		return nil, fmt.Errorf("lock endpoint %s: %w", p.Name, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("endpoint %s: %w; try again when it is done", p.Name, ErrBusy)
		}
		return nil, fmt.Errorf("lock endpoint %s: %w", p.Name, err)
	}
	return func() { f.Close() }, nil
}
