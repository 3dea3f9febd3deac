// Package python runs Python functions in a long-lived python3 process: a
// worker's interpreter, started once and spoken to over two pipes.
//
// Start launches the interpreter (Config.Command, python3 by default) with
// a short bootstrap on its command line; the bootstrap reads the driver
// (driver.py, embedded in the Go binary, so that a worker inside a
// container needs nothing but an interpreter) from the request pipe and
// runs it. Every message after that is a frame: a 4-byte big-endian
// length and that many bytes of JSON. The driver compiles each function
// once and keeps it, by function ID (FunctionID: a hash of entry and
// source), so that a warm call costs no interpreter start and no compile.
//
// A worker may send the calls of the tasks queued behind the running one
// before its reply comes (Interpreter.SendAhead): the driver then goes
// from one call to the next without waiting for the worker, and replies
// carry their request's sequence number.
//
// Nothing is pickled: arguments travel as the JSON of funcx.PythonArgs and
// return values as JSON. The function's print output is captured per call
// (sys.stdout and sys.stderr, bounded); what reaches the interpreter's own
// file descriptors 1 and 2 goes to Config.Stderr, the worker's log.
//
// The interpreter runs in a process group of its own and is killed with
// it: on Close, on a call whose context ends (a task timeout), and by the
// kernel when the worker dies (Linux parent-death signal). The pipes are
// not inherited by what the function starts, so the worker always sees
// the interpreter's death as end-of-file.
package python
