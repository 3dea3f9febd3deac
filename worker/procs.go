package worker

import "runtime"

// A worker that runs Python or shell tasks is a relay: it passes each
// call to its interpreter, or starts a command, and sends the result
// back, and needs no parallelism of its own. With more than one P, every
// reply or exit that wakes the worker also wakes an idle P's thread to
// look for work, which it does not find: for short calls those wake-ups
// cost the worker more than the relay itself, and for short commands
// they take CPU from the commands (the engine's shell row went from
// 0.74-0.83x raw os/exec to 0.80-0.94x). So while it runs Python or shell
// tasks the worker keeps to one P, and gives a Go function, which may use
// every core it was given, the Ps back. Only a worker process does so
// (Main): GOMAXPROCS belongs to the process, and an in-process Serve
// leaves it to the program that embeds it.

// narrowProcs drops to one P for Python and shell tasks, if not already
// there.
func (s *server) narrowProcs() {
	if s.cfg.ownProcess && s.procs == 0 {
		s.procs = runtime.GOMAXPROCS(1)
	}
}

// restoreProcs gives back the Ps narrowProcs took, before a Go function.
func (s *server) restoreProcs() {
	if s.procs != 0 {
		runtime.GOMAXPROCS(s.procs)
		s.procs = 0
	}
}
