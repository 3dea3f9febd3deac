package manager

import (
	"os"
	"runtime"
)

// A manager process is a relay: one goroutine (loop) makes every
// decision, and the others only read and write frames. With more than one
// P, each hand-off between them (a worker's results to the loop, the loop
// to the interchange's writer) wakes another P's thread, which mostly finds
// nothing to do: for short tasks those wake-ups cost more than the relay
// itself (half the manager's CPU time and context switches, measured on
// warm no-op Python tasks). One P does the same work with hand-offs that
// are queue operations. Only a manager process does so (Main), and not
// when GOMAXPROCS is set in its environment: GOMAXPROCS belongs to the
// process, and an in-process Run leaves it to the program that embeds it.

// narrowProcs keeps the manager process to one P unless told otherwise.
func narrowProcs() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
