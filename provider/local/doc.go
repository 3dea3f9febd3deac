// Package local is the provider that runs blocks as process groups on
// this machine: the endpoint's own host, a login node, or one node of an
// allocation the endpoint already runs in.
//
// A block is "bash -c" running the job's script in a new process group,
// with the job's environment added to this process's and its stdout and
// stderr in <ScriptDir>/<block>.out and .err. A block ends as a whole,
// like a batch job: when its first process exits, whatever it left in
// its group is killed. Cancel sends SIGTERM to the group and SIGKILL after
// Config.CancelGrace; a job past its walltime is stopped the same way and
// reported as timed out.
//
// Local blocks never pend: Status reports running until the process
// ends.
package local
