//go:build unix && !linux

package worker

import "syscall"

// processGroupAttr puts a command in a process group of its own, so that
// killing the group reaches everything it started.
func processGroupAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
