package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/python"
)

// pythonStopGrace is how long a stopping worker waits for its idle
// interpreter to exit on its own before killing it.
const pythonStopGrace = time.Second

// runPython calls a Python function in the worker's interpreter, started
// at the first Python task and kept for the next ones, which find their
// function compiled. A call past the function's timeout kills the
// interpreter (TaskTimeout); one that crashes it is WorkerLost. Either way
// the next Python task starts a fresh interpreter.
func (s *server) runPython(ctx context.Context, t *funcx.Task, res *funcx.Result) {
	f := &t.Function
	s.narrowProcs()
	p, err := s.interpreter(ctx)
	if err != nil {
		res.Error = funcx.Errorf(funcx.RemoteError, "python function %q: %v (python_command names the endpoint's interpreter)", f.Name, err)
		return
	}
	pd := s.sent[t.ID]
	delete(s.sent, t.ID)
	var reply *python.Reply
	if pd == nil || pd.Interpreter() != p {
		pd, reply, err = p.Send(pythonCall(t))
	}
	if pd != nil {
		s.sendAhead(p)
		tctx, cancel := taskContext(ctx, f.Timeout)
		defer cancel()
		reply, err = p.Wait(tctx, pd)
		if err != nil {
			err = s.pythonFailure(tctx, f, err)
		}
	}
	if p.Dead() {
		s.stopPython()
	}
	var te *funcx.TaskError
	if errors.As(err, &te) {
		res.Error = te
		return
	} else if err != nil {
		res.Error = funcx.Errorf(funcx.WorkerLost, "python function %q: %v", f.Name, err)
		return
	}
	if reply.Stdout != "" {
		res.Stdout = []byte(reply.Stdout)
	}
	if reply.Stderr != "" {
		res.Stderr = []byte(reply.Stderr)
	}
	res.Truncated = reply.Truncated
	if reply.OK {
		res.Output = reply.Value
		return
	}
	res.Error = pythonError(p, reply)
}

// pythonFailure is the task error of a call that did not complete: past
// its timeout (TaskTimeout), the worker stopping (Cancelled), or the
// interpreter dead (WorkerLost).
func (s *server) pythonFailure(tctx context.Context, f *funcx.Function, err error) *funcx.TaskError {
	switch {
	case timedOut(tctx):
		return funcx.Errorf(funcx.TaskTimeout, "python function %q timed out after %s: its interpreter was killed and the next task gets a new one", f.Name, f.Timeout)
	case tctx.Err() != nil:
		return interrupted(tctx, describe(f), 0)
	}
	return funcx.Errorf(funcx.WorkerLost, "python function %q: %v", f.Name, err)
}

// maxAhead bounds the Python calls sent to the interpreter before their
// turn.
const maxAhead = 8

// sendAhead sends the calls of the Python tasks that wait behind the
// running one, so that the interpreter goes from one call to the next
// without waiting for the worker: each call then costs the worker and
// the interpreter no wake-up of their own. Calls are sent in task order
// (one that does not fit the pipe stops the rest until its turn), and a
// task taken ahead is no longer reclaimable. A call whose interpreter is
// killed before its turn never ran: it is sent again, to the next
// interpreter, in its turn.
func (s *server) sendAhead(p *python.Interpreter) {
	if s.sent == nil {
		s.sent = map[funcx.TaskID]*python.Pending{}
	}
	for _, t := range s.next { // taken earlier, not sent yet
		if _, sent := s.sent[t.ID]; sent {
			continue
		}
		if !s.sendOne(p, &t) {
			return
		}
	}
	for len(s.next) < maxAhead {
		t, ok := s.in.popIf(func(t *funcx.Task) bool { return t.Function.Kind == funcx.KindPython && t.Function.Validate() == nil })
		if !ok {
			return
		}
		s.next = append(s.next, t)
		if !s.sendOne(p, &t) {
			return
		}
	}
}

func (s *server) sendOne(p *python.Interpreter, t *funcx.Task) bool {
	pd, ok := p.SendAhead(pythonCall(t))
	if ok {
		s.sent[t.ID] = pd
	}
	return ok
}

// pythonCall is the interpreter's call of a Python task. The reply of a
// task with no timeout may come through the quiet pipe, a moment after
// the call returned (python.Call.Hold); one with a timeout is answered at
// once, so that its clock never runs on a reply that is already there.
func pythonCall(t *funcx.Task) *python.Call {
	f := &t.Function
	return &python.Call{Source: f.Script, Entry: f.Name, Args: t.Args, OutputLimit: f.OutputLimit, Hold: f.Timeout == 0}
}

// pythonError is the task error of a failed call.
func pythonError(p *python.Interpreter, r *python.Reply) *funcx.TaskError {
	e := &funcx.TaskError{Kind: funcx.RemoteError, Message: r.Message, Stack: r.Traceback}
	switch r.Kind {
	case python.KindInvalidTask:
		e.Kind = funcx.InvalidTask
	case python.KindResultTooLarge:
		e.Kind = funcx.ResultTooLarge
	}
	if r.Module != "" {
		h := p.Hello()
		e.Message += fmt.Sprintf(" (the endpoint's Python %s, %s, has no module %q: install it there, or point python_command at an environment that has it)",
			h.Version, h.Executable, r.Module)
	}
	return e
}

// interpreter returns the worker's running interpreter, starting one if
// there is none.
func (s *server) interpreter(ctx context.Context) (*python.Interpreter, error) {
	if s.py != nil {
		return s.py, nil
	}
	p, err := python.Start(ctx, python.Config{
		Command:  s.cfg.PythonCommand,
		Stderr:   os.Stderr, // the worker's own stderr: the block's log
		MaxReply: s.cfg.MaxFrame,
	})
	if err != nil {
		return nil, err
	}
	h := p.Hello()
	s.log.Info("python interpreter started", "pid", p.PID(), "python", h.Version, "executable", h.Executable)
	s.py = p
	return p, nil
}

// stopPython stops the worker's interpreter, if it runs. Calls sent
// ahead are forgotten: their tasks are sent to the next interpreter. With
// such calls in flight the interpreter is killed at once, lest it start
// them.
func (s *server) stopPython() {
	if s.py != nil {
		if len(s.sent) > 0 {
			s.py.Kill()
		}
		s.py.Close(pythonStopGrace)
		s.py = nil
	}
	clear(s.sent)
}
