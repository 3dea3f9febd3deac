package local

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
)

// GroupAlive reports whether any process of the process group pgid is
// still alive. Zombies do not count: they run nothing and only wait for
// a parent to reap them — and where PID 1 does not reap orphans (as in
// many containers) they wait forever, so kill(-pgid, 0) alone would say
// "alive" for good.
func GroupAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return false
	}
	entries, rerr := os.ReadDir("/proc")
	if rerr != nil {
		return true // cannot tell zombies apart: trust kill
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := procStat(pid)
		if ok && st.pgrp == pgid && st.live() {
			return true
		}
	}
	return false
}

// procState is what /proc/<pid>/stat says of a process's identity.
type procState struct {
	state         byte
	pgrp, session int
}

// live reports whether the process runs (is neither zombie nor dead).
func (s procState) live() bool { return s.state != 'Z' && s.state != 'X' }

// procStat reads a process's state letter, process group and session from
// /proc/<pid>/stat. The command name may contain spaces and parentheses,
// so fields are counted from the last ')'.
func procStat(pid int) (procState, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procState{}, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procState{}, false
	}
	fields := bytes.Fields(b[i+1:])
	// fields: state ppid pgrp session ...
	if len(fields) < 4 || len(fields[0]) != 1 {
		return procState{}, false
	}
	pgrp, err1 := strconv.Atoi(string(fields[2]))
	session, err2 := strconv.Atoi(string(fields[3]))
	if err1 != nil || err2 != nil {
		return procState{}, false
	}
	return procState{state: fields[0][0], pgrp: pgrp, session: session}, true
}

// sessionMembers lists the live processes of session sid.
func sessionMembers(sid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ok := procStat(pid); ok && st.session == sid && st.live() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// SessionAlive reports whether any process of session sid still runs.
// A block runs as its own session: tasks may move to process groups of
// their own (a worker puts each shell task in one, to kill it whole on a
// timeout) but stay in the block's session unless they deliberately call
// setsid, so the session is what "everything the block started" means.
func SessionAlive(sid int) bool { return len(sessionMembers(sid)) > 0 }

// signalSession sends sig to the session leader's group and to every other
// process of the session, wherever its process group.
func signalSession(sid int, sig syscall.Signal) {
	_ = syscall.Kill(-sid, sig)
	for _, pid := range sessionMembers(sid) {
		_ = syscall.Kill(pid, sig)
	}
}

// ProcessIsZombie reports whether pid has exited and waits to be reaped.
func ProcessIsZombie(pid int) bool {
	st, ok := procStat(pid)
	return ok && !st.live()
}
