package faults

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/internal/procfs"
)

// envMarker is set on every process a run starts; their children inherit
// it, so that whatever outlives the run is found.
const envMarker = "FUNCX_FAULTS_RUN"

// Environment variables of the fabric's processes (manager.EnvRunID,
// manager.EnvRole), spelled out: importing the manager package for two
// names would pull the engine into this harness.
const (
	envRunID = "FUNCX_RUN_ID"
	envRole  = "FUNCX_ROLE"
)

// environ reads a process's initial environment; a later entry of a key
// wins, as in os/exec.
func environ(pid int) (map[string]string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return nil, false
	}
	env := map[string]string{}
	for kv := range bytes.SplitSeq(b, []byte{0}) {
		if k, v, ok := bytes.Cut(kv, []byte{'='}); ok {
			env[string(k)] = string(v)
		}
	}
	return env, true
}

// findProcs returns the live processes (not this one) whose environment
// satisfies match.
func findProcs(match func(env map[string]string) bool) []int {
	self := os.Getpid()
	return procfs.Find(func(pid int, _ procfs.Stat) bool {
		if pid == self {
			return false
		}
		env, ok := environ(pid)
		return ok && match(env)
	})
}

// roleProcs returns the processes of run runID in role ("worker" or
// "manager") that run exe: not the shells of tasks or of the block's
// script, which inherit the same environment, nor a child forked by one
// of them and not yet exec'd (a copy of its parent for a moment).
func roleProcs(runID, role, exe string) []int {
	is := func(pid int) bool {
		env, ok := environ(pid)
		if !ok || env[envRunID] != runID || env[envRole] != role {
			return false
		}
		p, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		return err == nil && p == exe
	}
	var out []int
	for _, pid := range findProcs(func(env map[string]string) bool { return env[envRunID] == runID && env[envRole] == role }) {
		if st, ok := procfs.ReadStat(pid); ok && is(pid) && !is(st.PPID) {
			out = append(out, pid)
		}
	}
	return out
}

// runProcs returns the processes carrying the run's marker or one of its
// endpoints' run IDs.
func runProcs(marker string, runIDs []string) []int {
	return findProcs(func(env map[string]string) bool {
		if env[envMarker] == marker {
			return true
		}
		id, ok := env[envRunID]
		return ok && slices.Contains(runIDs, id)
	})
}

// describeProcs names processes with their command lines.
func describeProcs(pids []int) []string {
	out := make([]string, 0, len(pids))
	for _, pid := range pids {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		out = append(out, strconv.Itoa(pid)+" "+strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	return out
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	st, ok := procfs.ReadStat(pid)
	return ok && st.Live()
}

// waitDead waits until pid has exited, at most within; it reports
// whether it has.
func waitDead(pid int, within time.Duration) bool {
	for deadline := time.Now().Add(within); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// killAll sends SIGKILL to pids.
func killAll(pids []int) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}
