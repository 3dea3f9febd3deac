// Command pbsshim imitates PBS Pro's qsub, qstat and qdel on one machine,
// for the pbs provider's tests (Debian ships no PBS). It is one binary
// installed under several names and dispatching on argv[0]:
//
//   - qsub SCRIPT reads the script's #PBS directives (and the same options
//     on its command line), records the job as queued and starts a
//     detached pbs_mom for it; it prints the job ID ("3.pbsserver").
//   - pbs_mom (started by qsub only) waits PBS_SHIM_START_DELAY, moves the
//     job to R, runs the script under the -S shell in a process group of
//     its own with the job's stdout and stderr in the -o and -e files (as
//     PBS's direct write does), enforces the walltime (writing the MoM's
//     "=>> PBS: job killed: walltime" line and ending with Exit_status
//     -29), and records the job as F with its Exit_status (256+N for a
//     job killed by signal N).
//   - qstat -x -f -F json ID... prints PBS Pro's JSON; unknown IDs get
//     "qstat: Unknown Job Id ID" on stderr and exit status 153 while the
//     others are printed. Without -x, finished jobs are refused as PBS
//     does (exit status 35).
//   - qdel ID... deletes queued jobs (F, no Exit_status) and sends
//     SIGTERM to running ones, then SIGKILL after PBS_SHIM_KILL_DELAY;
//     unknown IDs exit 153, finished ones 35, with PBS's messages.
//
// State lives in the directory named by PBS_SHIM_STATE: a lock file, a
// sequence counter and one JSON record per job. Queues: "workq" (the
// default) and those listed in PBS_SHIM_QUEUES.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

const serverName = "pbsserver"

// Exit statuses: PBS error numbers modulo 256, as PBS's commands exit.
const (
	exitUnknownJob  = 15001 % 256 // PBSE_UNKJOBID
	exitUnknownQue  = 15018 % 256 // PBSE_UNKQUE
	exitHistJob     = 15139 % 256 // PBSE_HISTJOBID
	exitUsage       = 2
	exitIllegalID   = 1
	exitKillWalltim = -29 // JOB_EXEC_KILL_WALLTIME
)

func main() {
	name := filepath.Base(os.Args[0])
	var code int
	switch name {
	case "qsub":
		code = qsub(os.Args[1:])
	case "qstat":
		code = qstat(os.Args[1:])
	case "qdel":
		code = qdel(os.Args[1:])
	case "pbs_mom":
		code = mom(os.Args[1:])
	default:
		fmt.Fprintf(os.Stderr, "pbsshim: run me as qsub, qstat, qdel or pbs_mom, not %q\n", name)
		code = exitUsage
	}
	os.Exit(code)
}
