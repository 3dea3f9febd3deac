//go:build race && unix

package rawio

import "sync/atomic"

// ioSync orders, for the race detector, what a goroutine did before a
// write with what another does after reading it, in this process: the
// annotations syscall.Read and syscall.Write make, and raw calls do not.
var ioSync atomic.Int64

func released() { ioSync.Add(1) }

func acquired() { ioSync.Load() }
