package python

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/internal/rawio"
)

// Defaults of Config.
const (
	// DefaultCommand is the interpreter started when Config.Command is
	// empty, looked up in PATH.
	DefaultCommand = "python3"
	// DefaultStartTimeout bounds an interpreter's start: long enough for
	// a cold conda environment on a network file system.
	DefaultStartTimeout = time.Minute
	// DefaultMaxReply caps one reply from the driver.
	DefaultMaxReply = 64 << 20
	// DefaultOutputLimit caps a call's captured stdout and stderr, each,
	// when Call.OutputLimit is zero.
	DefaultOutputLimit = 1 << 20
)

// maxKnown bounds the set of function IDs the interpreter is believed to
// hold; past it the set starts over (the driver keeps its own bounded
// cache and answers "missing" for what it dropped).
const maxKnown = 1024

// Config configures Start.
type Config struct {
	// Command is the interpreter: a path, or a name looked up in PATH.
	// Defaults to DefaultCommand.
	Command string
	// Env is the interpreter's environment. Defaults to nil: this
	// process's.
	Env []string
	// Stderr receives what the interpreter writes to its own stdout and
	// stderr, outside the calls' capture. Defaults to nil: discarded.
	Stderr io.Writer
	// StartTimeout bounds the start, until the driver says hello.
	// Defaults to DefaultStartTimeout.
	StartTimeout time.Duration
	// MaxReply caps one reply in bytes; a function whose result is larger
	// gets a ResultTooLarge reply. Defaults to DefaultMaxReply.
	MaxReply int
}

func (c Config) withDefaults() Config {
	c.Command = cmp.Or(c.Command, DefaultCommand)
	c.StartTimeout = cmp.Or(c.StartTimeout, DefaultStartTimeout)
	c.MaxReply = cmp.Or(c.MaxReply, DefaultMaxReply)
	return c
}

// Interpreter is a running python3 with the driver. Its methods other than
// Kill must not be called concurrently: a worker runs one call at a time,
// and may send the next ones ahead (SendAhead) while it waits.
type Interpreter struct {
	cfg   Config
	cmd   *exec.Cmd
	pid   int
	req   *os.File  // our end of the request pipe
	rep   *os.File  // our end of the reply pipe
	w     io.Writer // req, written with raw system calls (see rawio)
	r     *bufio.Reader
	q     *quiet // the quiet reply pipe (quiet.go)
	buf   []byte // requests encoded and not written yet (see flush)
	hello Hello
	out   *tail
	known map[string]struct{} // function IDs sent with their source
	dead  bool                // a call failed: the interpreter was killed
	// Calls in flight (see SendAhead): the last sequence number, the
	// request bytes not answered and the calls by sequence number, the
	// replies read before their call was waited for, and how many calls
	// in flight may be answered in the quiet pipe.
	seq      uint64
	inflight int
	sent     map[uint64]sentCall
	stash    map[uint64]*Reply
	holds    int
	eof      bool // the reply pipe ended: the driver is gone

	exited  chan struct{} // closed once the process is reaped
	waitErr error         // set before exited is closed
	closing sync.Once
}

// Start starts an interpreter and waits for its driver's hello. ctx bounds
// the start only.
func Start(ctx context.Context, cfg Config) (*Interpreter, error) {
	cfg = cfg.withDefaults()
	path, err := exec.LookPath(cfg.Command)
	if err != nil {
		return nil, fmt.Errorf("start python interpreter %q: %w", cfg.Command, err)
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start python interpreter: %w", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("start python interpreter: %w", err)
	}
	q, quietW, err := newQuiet()
	if err != nil {
		reqR.Close()
		reqW.Close()
		repR.Close()
		repW.Close()
		return nil, fmt.Errorf("start python interpreter: %w", err)
	}
	p := &Interpreter{cfg: cfg, req: reqW, rep: repR, w: rawio.Writer(reqW), r: bufio.NewReaderSize(rawio.Reader(repR), 16<<10),
		q: q, out: &tail{out: cfg.Stderr}, known: map[string]struct{}{}, exited: make(chan struct{}),
		sent: map[uint64]sentCall{}, stash: map[uint64]*Reply{}}
	p.cmd = exec.Command(path, "-c", bootstrap)
	p.cmd.Env = cfg.Env
	p.cmd.ExtraFiles = []*os.File{reqR, repW, quietW} // descriptors 3, 4 and 5
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = groupAttr()
	// A child of the function that keeps stderr open cannot hold up Wait.
	p.cmd.WaitDelay = time.Second
	err = p.cmd.Start()
	reqR.Close() // the interpreter holds them now
	repW.Close()
	quietW.Close()
	if err != nil {
		reqW.Close()
		repR.Close()
		q.close()
		return nil, fmt.Errorf("start python interpreter %s: %w", path, err)
	}
	p.pid = p.cmd.Process.Pid
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if err := p.handshake(ctx); err != nil {
		p.Close(0)
		return nil, err
	}
	return p, nil
}

// handshake sends the driver and reads its hello within the start timeout.
func (p *Interpreter) handshake(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.StartTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, p.Kill)
	defer stop()
	var err error
	if p.buf, err = writeFrame(p.w, p.buf[:0], driverSource); err == nil {
		p.buf = p.buf[:0]
		var raw []byte
		if raw, err = readFrame(p.r, p.cfg.MaxReply); err == nil {
			p.hello, err = decodeHello(raw)
		}
	}
	if err == nil {
		return nil
	}
	status := p.exitStatus(err)
	if ctx.Err() != nil {
		status = fmt.Errorf("no hello within %s (killed): %w", p.cfg.StartTimeout, context.Cause(ctx))
	}
	return fmt.Errorf("start python interpreter %s (pid %d): %w%s", p.cmd.Path, p.pid, status, p.lastOutput())
}

// Hello returns what the driver said about itself.
func (p *Interpreter) Hello() Hello { return p.hello }

// PID returns the interpreter's process ID.
func (p *Interpreter) PID() int { return p.pid }

// Path returns the interpreter's executable as started.
func (p *Interpreter) Path() string { return p.cmd.Path }

// Dead reports whether a call killed the interpreter or found it dead; a
// dead interpreter answers every call with an error.
func (p *Interpreter) Dead() bool { return p.dead }

// Call is one call of a Python function.
type Call struct {
	// Source defines Entry, the function called.
	Source, Entry string
	// Args is the JSON of funcx.PythonArgs; empty for no arguments.
	Args []byte
	// OutputLimit caps the captured stdout and stderr, each, in bytes.
	// Defaults to DefaultOutputLimit.
	OutputLimit int
	// Hold lets the driver answer a short call in the quiet pipe when the
	// next call is already sent (quiet.go): runs of short calls sent ahead
	// then cost one wake-up of the caller for several. The reply may come
	// a little later than the call returned (up to firstPoll, or until
	// the next reply), so set it for a call with no deadline of its own.
	// Defaults to false.
	Hold bool
}

// FunctionID is the ID a function is cached under: a hash of its entry
// and source, so that two registrations of the same code share it.
func FunctionID(source, entry string) string {
	h := sha256.New()
	h.Write([]byte(entry))
	h.Write([]byte{0})
	h.Write([]byte(source))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// aheadBytes bounds the requests written and not yet answered: they
// always fit the request pipe's buffer, so that writing one never blocks
// while the driver blocks writing a reply no one reads.
const aheadBytes = 32 << 10

// Pending is a call sent to the interpreter and not yet answered.
type Pending struct {
	p     *Interpreter
	call  *Call
	req   request
	known bool // sent without its source
}

// Interpreter returns the interpreter the call was sent to.
func (pd *Pending) Interpreter() *Interpreter { return pd.p }

// Call calls a function and returns the driver's reply: the value, or the
// function's exception, with its captured output. An error means the
// call did not complete: ctx ended (the interpreter was killed), or the
// interpreter died or broke the protocol; either way it is dead (Dead).
func (p *Interpreter) Call(ctx context.Context, c *Call) (*Reply, error) {
	pd, reply, err := p.send(c, false)
	if reply != nil || err != nil {
		return reply, err
	}
	return p.Wait(ctx, pd)
}

// Send sends c and returns its handle for Wait; between the two the
// caller may send the next calls ahead. A call that cannot run as given
// (arguments that are not JSON) gets its reply at once instead.
func (p *Interpreter) Send(c *Call) (*Pending, *Reply, error) { return p.send(c, false) }

// SendAhead sends c before the replies of the calls already sent have
// been read, so that the driver runs it as soon as it is done with them.
// It returns false, sending nothing, when the interpreter is dead, when c
// would not be run as sent (its arguments are not JSON) or when the
// requests in flight would no longer fit the pipe; the caller then calls
// it in its turn. A call sent ahead is answered by Wait.
//
// Calls sent ahead are written together, by the next Send, Wait or
// Flush: one write, which the driver takes in one read, for all of them.
func (p *Interpreter) SendAhead(c *Call) (*Pending, bool) {
	pd, reply, err := p.send(c, true)
	return pd, reply == nil && err == nil && pd != nil
}

// send prepares and writes c's request. A call that cannot run as given
// gets its reply at once; ahead refuses what would overfill the pipe.
func (p *Interpreter) send(c *Call, ahead bool) (*Pending, *Reply, error) {
	if p.dead {
		return nil, nil, errors.New("python interpreter is dead")
	}
	args := json.RawMessage(c.Args)
	if len(args) == 0 {
		args = json.RawMessage("null")
	} else if !json.Valid(args) {
		return nil, &Reply{Kind: KindInvalidTask, Message: "the arguments are not valid JSON"}, nil
	}
	fid := FunctionID(c.Source, c.Entry)
	pd := &Pending{p: p, call: c, req: request{FID: fid, Call: args, Limit: cmp.Or(c.OutputLimit, DefaultOutputLimit), Max: p.cfg.MaxReply, Hold: c.Hold}}
	_, pd.known = p.known[fid]
	if !pd.known {
		pd.req.Source, pd.req.Entry = c.Source, c.Entry
	}
	if err := p.write(pd, ahead); err != nil {
		if errors.Is(err, errNoRoom) {
			return nil, nil, nil
		}
		p.dead = true
		p.Kill()
		return nil, nil, fmt.Errorf("python interpreter %s (pid %d) %w%s", p.cmd.Path, p.pid, p.exitStatus(err), p.lastOutput())
	}
	if !pd.known { // believed compiled from now on; "missing" corrects it
		if len(p.known) >= maxKnown {
			clear(p.known)
		}
		p.known[fid] = struct{}{}
	}
	return pd, nil, nil
}

var errNoRoom = errors.New("no room in the request pipe")

// write encodes pd's request under a new sequence number and writes it
// with those sent ahead before it; a call sent ahead is only buffered.
func (p *Interpreter) write(pd *Pending, ahead bool) error {
	p.seq++
	pd.req.Seq = p.seq
	// The frame is encoded in place, its length filled in after.
	start := len(p.buf)
	p.buf = appendRequest(append(p.buf, 0, 0, 0, 0), &pd.req)
	size := len(p.buf) - start
	if ahead && p.inflight+size > aheadBytes {
		p.seq--
		p.buf = p.buf[:start]
		return errNoRoom
	}
	binary.BigEndian.PutUint32(p.buf[start:], uint32(size-4))
	p.inflight += size
	p.sent[pd.req.Seq] = sentCall{size: size, hold: pd.req.Hold}
	if pd.req.Hold {
		p.holds++
	}
	if ahead {
		return nil
	}
	return p.flushBuffer()
}

// Flush writes the calls sent ahead and not written yet. An error means
// the interpreter is dead (Dead): its calls are answered with errors.
func (p *Interpreter) Flush() error {
	if p.dead || len(p.buf) == 0 {
		return nil
	}
	if err := p.flushBuffer(); err != nil {
		p.dead = true
		p.Kill()
		return fmt.Errorf("python interpreter %s (pid %d) %w%s", p.cmd.Path, p.pid, p.exitStatus(err), p.lastOutput())
	}
	return nil
}

// flushBuffer writes the buffered requests in one write: they fit the
// pipe (aheadBytes), except a single large request, which the driver
// reads while it is written.
func (p *Interpreter) flushBuffer() error {
	if len(p.buf) == 0 {
		return nil
	}
	_, err := p.w.Write(p.buf)
	if cap(p.buf) > maxKeptBuffer {
		p.buf = nil
	} else {
		p.buf = p.buf[:0]
	}
	return err
}

// maxKeptBuffer bounds the request buffer kept between writes, so that
// one large source does not pin its memory for the interpreter's life.
const maxKeptBuffer = 1 << 20

// Wait returns the reply of a call sent to p, reading and keeping the
// replies of calls sent before it. Its errors are those of Call; ctx
// bounds the call from now.
func (p *Interpreter) Wait(ctx context.Context, pd *Pending) (*Reply, error) {
	if pd.p != p {
		return nil, errors.New("the call was sent to another interpreter")
	}
	stop := context.AfterFunc(ctx, p.Kill)
	reply, err := p.await(pd)
	if !stop() {
		// ctx ended as the reply came: the kill is under way, so the
		// call stands but the interpreter is gone for the next one.
		p.dead = true
	}
	if err != nil {
		p.dead = true
		p.Kill()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("python interpreter (pid %d) killed: %w", p.pid, context.Cause(ctx))
		}
		return nil, fmt.Errorf("python interpreter %s (pid %d) %w%s", p.cmd.Path, p.pid, p.exitStatus(err), p.lastOutput())
	}
	return reply, nil
}

// sentCall is a call in flight: its request's size, and whether its
// reply may come in the quiet pipe.
type sentCall struct {
	size int
	hold bool
}

// Polling the quiet pipe while waiting for a reply (see quiet.go): first
// after firstPoll, then at doubling intervals up to maxPoll, so that a
// long call costs the worker a few wake-ups a second at most.
const (
	firstPoll = time.Millisecond
	maxPoll   = 128 * time.Millisecond
)

// await reads replies until pd's, sending it again with its source if the
// driver no longer has the function.
func (p *Interpreter) await(pd *Pending) (*Reply, error) {
	poll := firstPoll
	for {
		if p.dead {
			return nil, errors.New("python interpreter is dead")
		}
		// The calls sent ahead go out before this one's reply is looked
		// for, so that the driver has them whatever it comes to.
		if err := p.flushBuffer(); err != nil {
			return nil, err
		}
		reply, ok := p.stash[pd.req.Seq]
		if !ok {
			if err := p.readQuiet(); err != nil {
				return nil, err
			}
			if _, ok := p.stash[pd.req.Seq]; ok {
				continue
			}
			if p.eof { // gone, and its quiet replies do not hold this one's
				return nil, io.EOF
			}
			if p.holds > 0 && p.r.Buffered() == 0 && !p.waitLoud(poll) {
				poll = min(2*poll, maxPoll)
				continue
			}
			raw, err := readFrame(p.r, p.cfg.MaxReply+64<<10) // the driver keeps to Max; the rest is slack
			if errors.Is(err, io.EOF) {
				p.eof = true // the quiet pipe may still hold replies written before the end
				continue
			}
			if err != nil {
				return nil, err
			}
			if err := p.accept(raw); err != nil {
				return nil, err
			}
			continue
		}
		delete(p.stash, pd.req.Seq)
		if !reply.Missing {
			return reply, nil
		}
		if !pd.known {
			return nil, fmt.Errorf("%w: function %s is missing though its source was sent", ErrProtocol, pd.req.FID)
		}
		// The driver dropped it: once more, with the source.
		pd.known = false
		pd.req.Source, pd.req.Entry = pd.call.Source, pd.call.Entry
		if err := p.write(pd, false); err != nil {
			return nil, err
		}
	}
}

// waitLoud waits up to d for the reply pipe to have something to read,
// and reports whether it has (or failed: readFrame then says how).
func (p *Interpreter) waitLoud(d time.Duration) bool {
	if p.rep.SetReadDeadline(time.Now().Add(d)) != nil {
		return true // no deadlines here: read without
	}
	_, err := p.r.Peek(1) // takes nothing, whatever comes
	_ = p.rep.SetReadDeadline(time.Time{})
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// readQuiet takes the replies waiting in the quiet pipe.
func (p *Interpreter) readQuiet() error {
	if p.holds == 0 {
		return nil
	}
	if err := p.q.fill(); err != nil {
		return err
	}
	for {
		raw, ok, err := p.q.next(p.cfg.MaxReply + 64<<10)
		if err != nil || !ok {
			return err
		}
		if err := p.accept(raw); err != nil {
			return err
		}
	}
}

// accept decodes a reply and keeps it for its call.
func (p *Interpreter) accept(raw []byte) error {
	reply, err := decodeReply(raw)
	if err != nil {
		return err
	}
	c, sent := p.sent[reply.Seq]
	if !sent {
		return fmt.Errorf("%w: a reply to request %d, which is not in flight", ErrProtocol, reply.Seq)
	}
	delete(p.sent, reply.Seq)
	p.inflight -= c.size
	if c.hold {
		p.holds--
	}
	p.stash[reply.Seq] = reply
	return nil
}

// exitStatus describes how the interpreter ended, given the error that
// showed it; it waits a moment for the process to be reaped.
func (p *Interpreter) exitStatus(cause error) error {
	select {
	case <-p.exited:
	case <-time.After(2 * time.Second):
		p.Kill()
		<-p.exited
	}
	if errors.Is(cause, ErrProtocol) {
		return fmt.Errorf("broke the driver protocol (did the function write to or close file descriptors it did not open?): %w", cause)
	}
	if p.waitErr == nil {
		return errors.New("exited")
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("was killed by signal %s", ws.Signal())
		}
		return fmt.Errorf("exited with status %d", ee.ExitCode())
	}
	return fmt.Errorf("failed: %w", p.waitErr)
}

// lastOutput is the interpreter's last output for an error message.
func (p *Interpreter) lastOutput() string {
	if s := p.out.String(); s != "" {
		return "; its last output:\n" + s
	}
	return ""
}

// Kill kills the interpreter's process group at once. It is safe to call
// at any time, from any goroutine.
func (p *Interpreter) Kill() {
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
}

// Close stops the interpreter: it closes the request pipe, on which the
// driver exits, waits up to grace for it, then kills its process group
// (also what the function left running) and reaps it. Close is idempotent.
func (p *Interpreter) Close(grace time.Duration) {
	p.closing.Do(func() {
		p.req.Close()
		if grace > 0 && !p.dead {
			t := time.NewTimer(grace)
			select {
			case <-p.exited:
			case <-t.C:
			}
			t.Stop()
		}
		p.Kill()
		<-p.exited
		p.rep.Close()
		p.q.close()
		p.dead = true
	})
}
