// Package slurm is the provider that runs blocks as Slurm batch jobs.
//
// # Submitting
//
// Submit renders the job into an sbatch script (see [Script]): one
// "#SBATCH" directive per resource the job asks for, the job's
// SchedulerOptions verbatim after them (so that they can override ours),
// then the job's environment as exports, WorkerInit, and the
// launcher-wrapped manager command. The script is written to the job's
// ScriptDir as NAME.sbatch, readable only by its owner because the
// environment carries the run's secret; the job's stdout and stderr go
// to NAME.JOBID.out and NAME.JOBID.err beside it. `sbatch --parsable`
// submits it, and its answer is the job ID. A refused submission returns
// an error carrying sbatch's own words ("invalid partition specified").
//
// # Watching
//
// Status asks one command for all the IDs at once. With accounting
// (slurmdbd) it is `sacct`, which remembers jobs for good; without it, or
// for jobs sacct has not recorded yet, `squeue --states=all`, which
// remembers ended jobs only for the cluster's MinJobAge (300 s by
// default). [Config.StatusCommand] picks one; the default, auto, tries
// sacct and falls back to squeue for good once Slurm says accounting is
// disabled. An ID neither knows is [provider.JobMissing].
//
// Slurm's states map onto [provider.JobState] as [MapState] documents.
// Walltime is always [provider.JobTimeout]: Slurm's TIMEOUT, and also a
// job that exited 0 after running to its time limit, because managers
// leave on their own when the block's walltime is reached, which Slurm
// records as COMPLETED when they beat its own kill.
//
// # Cancelling
//
// Cancel is one `scancel` for all the IDs; Slurm ignores IDs of ended or
// unknown jobs, so cancelling is idempotent.
//
// Every command runs through a [provider.Runner] with a timeout, so unit
// tests answer with a fake in Slurm's exact output formats.
package slurm
