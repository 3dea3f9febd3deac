package worker

import "syscall"

// processGroupAttr puts a command in a process group of its own, so that
// killing the group reaches everything it started, and has the kernel kill
// it if the worker dies without cleaning up.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
