package container

import (
	"os"
	"strconv"
	"strings"
)

// Labels on every container funcx starts, where the runtime has labels
// (Docker): by them the containers of a run, or of a manager that died,
// are found and removed.
const (
	// LabelManaged is "true" on every funcx container.
	LabelManaged = "org.funcx.managed"
	// LabelRun is the endpoint run's ID (FUNCX_RUN_ID).
	LabelRun = "org.funcx.run"
	// LabelManager is the ID of the manager that started the container.
	LabelManager = "org.funcx.manager"
	// LabelBlock is the manager's provider block.
	LabelBlock = "org.funcx.block"
	// LabelHost is the hostname of the manager's node.
	LabelHost = "org.funcx.host"
	// LabelManagerPID and LabelManagerStart identify the manager process
	// (its pid and start time in clock ticks since boot), so that a
	// container whose manager died is told apart from one whose pid was
	// reused.
	LabelManagerPID   = "org.funcx.manager-pid"
	LabelManagerStart = "org.funcx.manager-start"
)

// OwnerLabels are the labels of a container started by the manager with
// these IDs in this process.
func OwnerLabels(runID, managerID, blockID, host string, pid int) map[string]string {
	l := map[string]string{
		LabelManaged: "true", LabelRun: runID, LabelManager: managerID,
		LabelBlock: blockID, LabelHost: host, LabelManagerPID: strconv.Itoa(pid),
	}
	if start, ok := ProcessStart(pid); ok {
		l[LabelManagerStart] = strconv.FormatUint(start, 10)
	}
	return l
}

// ManagerAlive reports whether the manager process named by a container's
// labels still runs on this host: the same pid with the same start time.
func ManagerAlive(labels map[string]string) bool {
	pid, err := strconv.Atoi(labels[LabelManagerPID])
	if err != nil || pid <= 0 {
		return false
	}
	start, ok := ProcessStart(pid)
	if !ok {
		return false
	}
	want, err := strconv.ParseUint(labels[LabelManagerStart], 10, 64)
	return err != nil || want == start // no start label: trust the pid
}

// ProcessStart reads a process's start time (clock ticks since boot) from
// /proc/<pid>/stat; ok is false if the process is gone. A pid with the
// start time it had is the same process: pids are reused, start times
// are not.
func ProcessStart(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:]) // field 3 (state) is f[0]; starttime is field 22
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}
