// Package procfs reads the few facts about Linux processes that funcx
// needs to prove nothing it started outlives its purpose: state, process
// group and session from /proc/<pid>/stat, and the processes that exist.
package procfs

import (
	"bytes"
	"os"
	"strconv"
)

// Stat is what /proc/<pid>/stat says of a process's identity.
type Stat struct {
	State   byte // R, S, D, Z, X, …
	PPID    int
	PGRP    int
	Session int
	// Start is when the process started, in clock ticks since boot: with
	// the PID it names one process, even once the PID is used again.
	Start uint64
}

// Live reports whether the process runs: zombies run nothing and only wait
// to be reaped (where PID 1 reaps no orphans, as in many containers, they
// wait forever), so they do not count.
func (s Stat) Live() bool { return s.State != 'Z' && s.State != 'X' }

// ReadStat reads /proc/<pid>/stat; ok is false if the process is gone.
// The command name may hold spaces and parentheses, so fields are counted
// from the last ')'.
func ReadStat(pid int) (Stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return Stat{}, false
	}
	return parseStat(b)
}

// parseStat parses the text of /proc/<pid>/stat.
func parseStat(b []byte) (Stat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return Stat{}, false
	}
	// Fields from the state on: field 3 of proc(5) is f[0], so the
	// start time (field 22) is f[19].
	f := bytes.Fields(b[i+1:])
	if len(f) < 20 || len(f[0]) != 1 {
		return Stat{}, false
	}
	ppid, e1 := strconv.Atoi(string(f[1]))
	pgrp, e2 := strconv.Atoi(string(f[2]))
	sid, e3 := strconv.Atoi(string(f[3]))
	start, e4 := strconv.ParseUint(string(f[19]), 10, 64)
	if e1 != nil || e2 != nil || e3 != nil || e4 != nil {
		return Stat{}, false
	}
	return Stat{State: f[0][0], PPID: ppid, PGRP: pgrp, Session: sid, Start: start}, true
}

// Proc names one process: a PID, which Linux gives to a new process soon
// after the old one exits when processes come and go fast (pid_max is
// 32,768 on small machines), and the start time that tells them apart.
type Proc struct {
	PID   int
	Start uint64
}

// Identify returns the process pid names now; ok is false if there is no
// live one.
func Identify(pid int) (_ Proc, ok bool) {
	st, ok := ReadStat(pid)
	if !ok || !st.Live() {
		return Proc{}, false
	}
	return Proc{PID: pid, Start: st.Start}, true
}

// Alive reports whether p still runs: its PID names a live process that
// started when p did.
func (p Proc) Alive() bool {
	st, ok := ReadStat(p.PID)
	return ok && st.Live() && st.Start == p.Start
}

// PIDs lists the process IDs in /proc.
func PIDs() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	pids := make([]int, 0, len(entries))
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Find returns the live processes for which match returns true.
func Find(match func(pid int, st Stat) bool) []int {
	var out []int
	for _, pid := range PIDs() {
		if st, ok := ReadStat(pid); ok && st.Live() && match(pid, st) {
			out = append(out, pid)
		}
	}
	return out
}
