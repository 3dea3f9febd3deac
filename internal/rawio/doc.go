// Package rawio reads and writes sockets and pipes without announcing
// each read and write to the Go scheduler as a system call that may block.
//
// Why: a process of the fabric that relays many small frames (a worker
// between its manager and its Python interpreter, a manager between its
// workers and the interchange) goes idle and busy again thousands of times
// a second. Whenever all its Ps are idle, the runtime's monitor thread
// (sysmon) goes into a deep sleep, and the first system call made through
// syscall.Syscall afterwards wakes it (runtime.entersyscallWakeSysmon):
// a futex wake-up and a thread that runs for nothing, once per wake-up of
// the process. Profiles of warm no-op Python tasks put that at more than
// a tenth of the worker's CPU time, and the context switches it causes at
// about half of the engine's.
//
// The descriptors here are non-blocking (the runtime's poller waits for
// them), so a read or write returns at once: it needs none of what
// entersyscall is for (handing the P to another thread while the call
// blocks). Reader and Writer issue them with syscall.RawSyscall inside the
// descriptor's syscall.RawConn, which waits on the poller when the call
// would block, honours deadlines and is safe against a concurrent Close,
// as the standard Read and Write are.
package rawio
