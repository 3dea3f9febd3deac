// Package pbs is the provider that runs blocks as PBS Pro (OpenPBS) batch
// jobs.
//
// Submit writes a job script from a template (#PBS directives for the
// name, the select statement, walltime, queue, account, output files and
// placement, then the scheduler_options lines verbatim, the job's
// environment, worker_init and the launcher-wrapped manager command) into
// the job's ScriptDir and hands it to qsub; the job ID is what qsub
// prints. Status asks for every job at once with one
// `qstat -x -f -F json ID...` and maps PBS's state letters (and, for
// finished jobs, Exit_status) onto provider.JobState. Cancel runs qdel.
// Every command goes through a provider.Runner with a timeout.
//
// Job IDs that qstat no longer knows ("Unknown Job Id", which qstat
// reports on stderr with exit status 153 while still printing the jobs it
// knows) are JobMissing. With job history disabled on the server
// (job_history_enable = false) finished jobs become missing as soon as
// they end; enable it to see exit statuses.
package pbs
