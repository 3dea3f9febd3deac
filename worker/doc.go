// Package worker runs tasks: shell functions, registered Go functions and
// Python functions.
//
// A worker is a long-lived process that a manager starts and that runs one
// task at a time, so that a task's failure (a crash, an OOM kill) costs
// only its worker, which the manager replaces.
//
// # Go functions
//
// Register Go functions by name before the worker starts serving; a task
// of kind funcx.KindGo names one. The built-ins NameNoop, NameEcho and
// NameSleep are always present.
//
//	worker.Register("wordcount", func(ctx context.Context, text string) (int, error) {
//		return len(strings.Fields(text)), nil
//	})
//
// # Worker binaries
//
// Main makes any program a worker binary: call it first thing in main.
// It returns at once unless the environment says FUNCX_ROLE=worker, so the
// same binary can be a command-line tool and, re-executed by a manager, a
// worker. examples/custom-worker shows a binary with its own functions.
//
// # Protocol
//
// The manager starts the worker with FUNCX_ROLE=worker, FUNCX_WORKER_ID,
// optionally FUNCX_WORKER_CONTAINER, and the connection as an inherited
// descriptor (FUNCX_WORKER_FD, one end of a socketpair) or an address to
// dial (FUNCX_WORKER_ADDR, unix: or tcp:). Frames are those of
// internal/wire: the worker sends Ready, then runs the tasks of Tasks frames
// one at a time and sends one result per task, in order, in Results frames
// (several short tasks' results may share one). The manager may queue
// tasks in a worker and take back those not started with Reclaim, which
// the worker answers with a Return frame of their IDs. Shutdown, or the
// connection closing, stops the worker and kills the task in flight, so no
// worker outlives its manager. See Serve for the details.
//
// # Shell functions
//
// A shell task's arguments are a JSON object whose values replace the
// {name} placeholders of the Script and of each Argv element: strings as
// they are, other values as compact JSON; {{ and }} are literal braces; a
// placeholder with no argument fails the task with funcx.InvalidTask. The
// command runs in a process group of its own, which is killed at its
// timeout and when it exits (no background leftovers).
//
// # Python functions
//
// A task of kind funcx.KindPython (funcx.Python) carries the function's
// source and entry name; its arguments are the JSON of funcx.PythonArgs
// and its result's Output the JSON of the return value. The worker starts
// one interpreter (Config.PythonCommand, FUNCX_PYTHON_COMMAND from the
// manager: the endpoint's python_command) at its first Python task and
// keeps it, with every function compiled once, for the next ones. The
// function's exception is a RemoteError whose Stack is the Python
// traceback; print output is the result's Stdout and Stderr (capped at
// the function's OutputLimit); past its Timeout the interpreter is killed
// (TaskTimeout), and an interpreter that dies is WorkerLost; the next
// Python task starts a new one. The interpreter stops with the worker.
package worker
