package local

import (
	"errors"
	"syscall"

	"github.com/funcx-go/funcx/internal/procfs"
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
	return len(procfs.Find(func(_ int, st procfs.Stat) bool { return st.PGRP == pgid })) > 0
}

// sessionMembers lists the live processes of session sid.
func sessionMembers(sid int) []int {
	return procfs.Find(func(_ int, st procfs.Stat) bool { return st.Session == sid })
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
	st, ok := procfs.ReadStat(pid)
	return ok && !st.Live()
}
