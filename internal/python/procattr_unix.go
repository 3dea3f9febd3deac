//go:build unix && !linux

package python

import "syscall"

// groupAttr puts the interpreter in a process group of its own, so that
// killing the group reaches what its functions started.
func groupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
