package provider

import (
	"fmt"
	"strings"
)

// Launcher turns the command that starts one manager into the command
// that starts every copy a block needs: tasksPerNode copies on each of
// nodesPerBlock nodes. It is a pure text transformation, so each launcher
// is tested on its exact output. The result is bash, run as (part of) the
// block's script.
type Launcher interface {
	Wrap(command string, tasksPerNode, nodesPerBlock int) string
}

// Launcher names accepted by LauncherByName.
const (
	LauncherSingleNode = "single-node"
	LauncherSimple     = "simple"
	LauncherSrun       = "srun"
	LauncherMpiexec    = "mpiexec"
	LauncherAprun      = "aprun"
)

// LauncherNames lists the names LauncherByName accepts, for help texts
// and error messages.
func LauncherNames() []string {
	return []string{LauncherSingleNode, LauncherSimple, LauncherSrun, LauncherMpiexec, LauncherAprun}
}

// LauncherByName returns the launcher a configuration file names. Case,
// '-' and '_' are ignored, and a "Launcher" suffix is allowed, so
// "single-node", "single_node" and Parsl's "SingleNodeLauncher" all work.
func LauncherByName(name string) (Launcher, error) {
	key := strings.NewReplacer("-", "", "_", "").Replace(strings.ToLower(strings.TrimSpace(name)))
	key = strings.TrimSuffix(key, "launcher")
	switch key {
	case "singlenode":
		return SingleNode{}, nil
	case "simple":
		return Simple{}, nil
	case "srun":
		return Srun{}, nil
	case "mpiexec":
		return Mpiexec{}, nil
	case "aprun":
		return Aprun{}, nil
	}
	return nil, fmt.Errorf("launcher %q is unknown: valid launchers are %s", name, strings.Join(LauncherNames(), ", "))
}

// atLeastOne treats zero or negative counts as one, so that a launcher
// never starts no manager at all.
func atLeastOne(n int) int { return max(n, 1) }

// Simple runs the command as it is: one copy per block. Use it when the
// command starts its own copies, or when a block is one manager.
type Simple struct{}

// Wrap returns command unchanged.
func (Simple) Wrap(command string, _, _ int) string { return command }

// SingleNode starts tasksPerNode copies of the command in the background
// on the node the script runs on, waits for all of them, and exits with
// the status of the first copy (in launch order) that failed, or 0. It
// ignores nodesPerBlock: it cannot reach other nodes, and piling every
// node's copies onto one would oversubscribe it.
//
// Each copy sees FUNCX_LAUNCH_RANK (0 … tasksPerNode-1). A SIGTERM, SIGINT
// or SIGHUP to the launcher is passed to its whole process group and the
// launcher waits for the copies to end, so that signalling only the
// script's process still stops every manager.
type SingleNode struct{}

// Wrap returns the bash snippet described on SingleNode.
func (SingleNode) Wrap(command string, tasksPerNode, _ int) string {
	return fmt.Sprintf(singleNodeTemplate, atLeastOne(tasksPerNode), command)
}

// singleNodeTemplate: %[1]d copies, %[2]s the command. The command goes in
// a function body rather than a quoted string so that it needs no
// escaping and each copy is one fork, not a new bash.
//
// Each copy's subshell traps the stop signals with a no-op: it then
// outlives a group-wide SIGTERM until its command has exited, so that the
// launcher's own wait covers the command's clean-up (a manager stopping
// its workers and containers) instead of returning early and letting the
// provider kill the group mid-clean-up. The command itself starts with
// the default dispositions, since a trapped (not ignored) signal is reset
// on exec.
const singleNodeTemplate = `FUNCX_LAUNCH_COUNT=%[1]d
FUNCX_LAUNCH_PIDS=()
FUNCX_LAUNCH_STATUS=0
funcx_launch_command() {
	trap : TERM INT HUP
%[2]s
}
funcx_launch_stop() {
	trap '' TERM INT HUP
	kill -TERM 0 2>/dev/null
	wait
	exit 143
}
trap funcx_launch_stop TERM INT HUP
export FUNCX_LAUNCH_RANK
for ((FUNCX_LAUNCH_RANK = 0; FUNCX_LAUNCH_RANK < FUNCX_LAUNCH_COUNT; FUNCX_LAUNCH_RANK++)); do
	funcx_launch_command &
	FUNCX_LAUNCH_PIDS+=($!)
done
for FUNCX_LAUNCH_PID in "${FUNCX_LAUNCH_PIDS[@]}"; do
	wait "$FUNCX_LAUNCH_PID"
	FUNCX_LAUNCH_CODE=$?
	if [ "$FUNCX_LAUNCH_STATUS" -eq 0 ] && [ "$FUNCX_LAUNCH_CODE" -ne 0 ]; then
		FUNCX_LAUNCH_STATUS=$FUNCX_LAUNCH_CODE
	fi
done
exit "$FUNCX_LAUNCH_STATUS"`

// Srun starts the copies as one Slurm job step across the allocation.
type Srun struct {
	// Overrides are extra srun options, inserted as written (e.g.
	// "--cpu-bind=none"). Defaults to none.
	Overrides string
}

// Wrap returns an srun command line running nodes×tasks copies.
func (l Srun) Wrap(command string, tasksPerNode, nodesPerBlock int) string {
	t, n := atLeastOne(tasksPerNode), atLeastOne(nodesPerBlock)
	return fmt.Sprintf("srun --ntasks=%d --ntasks-per-node=%d --nodes=%d%s %s",
		t*n, t, n, overrides(l.Overrides), bashC(command))
}

// Mpiexec starts the copies with an MPICH-style mpiexec (MPICH, Intel MPI,
// Cray PALS), which takes -ppn for copies per node. For Open MPI, or to
// pass a host file, put the options in Overrides.
type Mpiexec struct {
	// Overrides are extra mpiexec options, inserted as written (e.g.
	// "--hostfile $PBS_NODEFILE"). Defaults to none.
	Overrides string
}

// Wrap returns an mpiexec command line running nodes×tasks copies.
func (l Mpiexec) Wrap(command string, tasksPerNode, nodesPerBlock int) string {
	t, n := atLeastOne(tasksPerNode), atLeastOne(nodesPerBlock)
	return fmt.Sprintf("mpiexec -n %d -ppn %d%s %s", t*n, t, overrides(l.Overrides), bashC(command))
}

// Aprun starts the copies with Cray ALPS aprun.
type Aprun struct {
	// Overrides are extra aprun options, inserted as written (e.g.
	// "-cc none"). Defaults to none.
	Overrides string
}

// Wrap returns an aprun command line running nodes×tasks copies.
func (l Aprun) Wrap(command string, tasksPerNode, nodesPerBlock int) string {
	t, n := atLeastOne(tasksPerNode), atLeastOne(nodesPerBlock)
	return fmt.Sprintf("aprun -n %d -N %d%s %s", t*n, t, overrides(l.Overrides), bashC(command))
}

// bashC makes a parallel launcher run the command in a fresh bash on each
// rank. Quoting it whole is what lets any command line through the
// launcher's own argument parsing intact.
func bashC(command string) string { return "/bin/bash -c " + ShellQuote(command) }

func overrides(s string) string {
	if s = strings.TrimSpace(s); s == "" {
		return ""
	}
	return " " + s
}
