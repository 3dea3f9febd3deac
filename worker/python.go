package worker

import (
	"context"
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
	p, err := s.interpreter(ctx)
	if err != nil {
		res.Error = funcx.Errorf(funcx.RemoteError, "python function %q: %v (python_command names the endpoint's interpreter)", f.Name, err)
		return
	}
	tctx, cancel := taskContext(ctx, f.Timeout)
	defer cancel()
	reply, err := p.Call(tctx, &python.Call{Source: f.Script, Entry: f.Name, Args: t.Args, OutputLimit: f.OutputLimit})
	if p.Dead() {
		s.stopPython()
	}
	switch {
	case err == nil:
	case timedOut(tctx):
		res.Error = funcx.Errorf(funcx.TaskTimeout, "python function %q timed out after %s: its interpreter was killed and the next task gets a new one", f.Name, f.Timeout)
		return
	case tctx.Err() != nil:
		res.Error = interrupted(tctx, describe(f), 0)
		return
	default:
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

// stopPython stops the worker's interpreter, if it runs.
func (s *server) stopPython() {
	if s.py != nil {
		s.py.Close(pythonStopGrace)
		s.py = nil
	}
}
