package python

import "syscall"

// groupAttr puts the interpreter in a process group of its own, so that
// killing the group reaches what its functions started, and has the
// kernel kill it if the worker dies without cleaning up.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
